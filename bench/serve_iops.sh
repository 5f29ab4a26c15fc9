#!/usr/bin/env bash
# Issue 5 benchmark (a): random 4 KiB reads at queue depth 16 through `ferry serve` once
# the migration is complete, against `nbdkit file` serving the same destination file
# directly, in one run. Target: ferry at least 0.9 of nbdkit's IOPS.
#
#   bench/serve_iops.sh [--size 1G] [--runtime 10] [--rounds 3] [--dir DIR] [--ferry PATH]
#
# Both servers run on Unix sockets with nbdkit's default thread count; fio (ioengine=nbd)
# runs the same job against each, alternating, --rounds times each; the median IOPS of
# each is printed, with the ratio. The file is read from page cache (it was just written).
set -euo pipefail

size=1G runtime=10 rounds=3 dir="" ferry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "serve_iops: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare serve_iops nbdkit fio nbdcopy python3
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done' EXIT

nbdkit -U - sparse-random "$size" seed=3 percent=100 --run "nbdcopy \"\$uri\" $dir/src.img"
rm -f "$dir/dst.img" "$dir/j" "$dir/ferry.sock" "$dir/file.sock"
"$ferry" serve "$dir/src.img" "$dir/dst.img" --journal "$dir/j" --socket "$dir/ferry.sock" 2>"$dir/serve.log" &
pids+=($!)
for _ in $(seq 1 600); do
  [ -s "$dir/j" ] && [ "$("$ferry" status --json "$dir/j" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)" = copied ] && break
  sleep 0.1
done
"$ferry" status "$dir/j" | grep -q "copied" || { echo "serve_iops: the migration did not complete" >&2; exit 1; }
nbdkit -U "$dir/file.sock" file "$dir/dst.img" -P "$dir/file.pid"
pids+=("$(cat "$dir/file.pid")")

iops() {  # URI
  fio --name=r --ioengine=nbd --uri="$1" --rw=randread --bs=4k --iodepth=16 --time_based \
    --runtime="$runtime" --randseed=1 --output-format=json 2>/dev/null |
    python3 -c 'import json,sys; d=sys.stdin.read(); print(json.loads(d[d.index("{"):])["jobs"][0]["read"]["iops"])'
}
ferry_runs=() file_runs=()
for r in $(seq 1 "$rounds"); do
  ferry_runs+=("$(iops "nbd+unix:///?socket=$dir/ferry.sock")")
  file_runs+=("$(iops "nbd+unix:///?socket=$dir/file.sock")")
done
python3 - "${ferry_runs[*]}" "${file_runs[*]}" <<'PY'
import statistics, sys
f = [float(x) for x in sys.argv[1].split()]
n = [float(x) for x in sys.argv[2].split()]
mf, mn = statistics.median(f), statistics.median(n)
print(f"fio randread 4k QD16 through ferry serve (migration complete): {mf:.0f} IOPS (runs: {', '.join(f'{x:.0f}' for x in f)})")
print(f"fio randread 4k QD16 through nbdkit file on the destination:   {mn:.0f} IOPS (runs: {', '.join(f'{x:.0f}' for x in n)})")
print(f"ratio ferry / nbdkit file: {mf / mn:.3f} (target >= 0.9: {'met' if mf / mn >= 0.9 else 'NOT met'})")
PY
