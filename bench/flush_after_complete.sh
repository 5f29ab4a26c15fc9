#!/usr/bin/env bash
# Issue 13 benchmark (item 5): a client's flush once the migration is complete costs
# the destination's flush alone. fio random 4 KiB writes with an fsync after each
# (--fsync=1) through ferry serve after completion, against nbdkit's file plugin on the
# same destination file, in one run; prints IOPS and the ratio (target >= 0.8).
#
#   bench/flush_after_complete.sh [--size 256M] [--runtime 10] [--dir DIR] [--ferry PATH]
set -euo pipefail

size=256M runtime=10 dir="" ferry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "flush_after_complete: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare flush_after_complete nbdkit fio nbdcopy python3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

nbdkit -U - sparse-random "$size" seed=5 percent=100 --run "nbdcopy \"\$uri\" $dir/src.img"
rm -f "$dir"/*.sock "$dir/dst.img" "$dir/j"*
iops() {  # URI: fio's write IOPS
  fio --name=w --ioengine=nbd --uri="$1" --rw=randwrite --bs=4k --iodepth=1 --fsync=1 --size="$size" \
    --time_based --runtime="$runtime" --randseed=2 --output-format=json --output="$dir/fio.json" >/dev/null
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' "$dir/fio.json"
}

"$ferry" serve "$dir/src.img" "$dir/dst.img" --journal "$dir/j" --socket "$dir/live.sock" 2>"$dir/serve.log" &
pids+=($!)
wait_sock "$dir/live.sock"
for _ in $(seq 1 600); do
  "$ferry" status --json "$dir/j" | grep -q '"complete": *true' && break
  sleep 0.1
done
ferry_iops=$(iops "nbd+unix:///?socket=$dir/live.sock")
"$ferry" control "$dir/j" abort >/dev/null
wait "${pids[0]}" 2>/dev/null || true

nbdkit -U "$dir/file.sock" -P "$dir/file.pid" file "$dir/dst.img"
wait_sock "$dir/file.sock"
pids+=("$(cat "$dir/file.pid")")
file_iops=$(iops "nbd+unix:///?socket=$dir/file.sock")

echo "fio randwrite 4k --fsync=1 QD1, $runtime s, $size volume, after the migration completed"
printf '%-28s %8s\n' "" IOPS "ferry serve" "$ferry_iops" "nbdkit file (same dst)" "$file_iops"
python3 -c "print(f'ferry / nbdkit file: {$ferry_iops / $file_iops:.2f}x (target >= 0.8)')"
