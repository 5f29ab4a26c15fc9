#!/usr/bin/env bash
# Issue 14 benchmark: a live migration that starts warm from a recorded history, against
# the same migration started cold and against the naive peer, in one run.
#
#   bench/history_live.sh [--size 1G] [--duration 40s] [--link 'rdelay=2ms rate=400M']
#                         [--predictor ensemble] [--dir DIR] [--ferry PATH]
#
# A workload made by `ferry trace synth` (a hot set that moves halfway, two sequential
# readers, random reads and writes) over SIZE is cut at its first quarter. The first
# part runs through `ferry watch` on the source file, which records it (history.log);
# the rest (during.log) is replayed by fio (ioengine=nbd, at the trace's times) against:
#   cow    nbdkit's cow filter with cow-on-read=true over the slow source (naive post-copy)
#   cold   ferry serve --predictor P with no history
#   warm   ferry serve --predictor P --history history.log
# The source is the file behind nbdkit's delay and rate filters (LINK). Printed: fio's
# read p50/p99/p99.9 and each ferry run's reads that waited, split into first touches
# and seen ones, and the stalls predictions prevented; then warm's ratios to cold and cow.
set -euo pipefail

size=1G duration=40s link="rdelay=2ms rate=400M" predictor=ensemble dir="" ferry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --predictor) predictor=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "history_live: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare history_live nbdkit fio nbdcopy python3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
cd "$dir"
rm -f ./*.sock ./*.log ./*.json ./*.j ./*.j.* cold.img warm.img history.rec
nbdkit -U - sparse-random "$size" seed=7 percent=100 --run 'nbdcopy "$uri" src.img'
"$ferry" trace synth workload.log --volume-size "$size" --duration "$duration" --iops 400 >/dev/null 2>&1
cut=$(PATH=/usr/bin:$PATH python3 -c 'import json, sys; print(json.load(sys.stdin)["span_s"] / 4)' \
  < <("$ferry" trace info --json workload.log))
"$ferry" trace convert workload.log before.log --until "${cut}s" 2>/dev/null
"$ferry" trace convert workload.log during.log --from "${cut}s" 2>/dev/null
fio_common=(--buffer_pattern=0x5a --percentile_list=50:99:99.9 --output-format=json)
"$ferry" watch src.img --record history.rec \
  --run "fio --name=before --ioengine=nbd --uri=\"\$uri\" --read_iolog=before.log ${fio_common[*]} >/dev/null" \
  2>watch.log
# shellcheck disable=SC2086
nbdkit -U "$dir/src.sock" -P "$dir/src.pid" -r --filter=delay --filter=rate file src.img $link
wait_sock "$dir/src.sock"
pids+=("$(cat "$dir/src.pid")")
SRC="nbd+unix:///?socket=$dir/src.sock"
replay() {  # NAME URI
  fio --name=app --ioengine=nbd --uri="$2" --read_iolog=during.log "${fio_common[@]}" --output="$dir/$1.json"
}

nbdkit -U "$dir/cow.sock" -P "$dir/cow.pid" --filter=cow nbd socket="$dir/src.sock" cow-on-read=true
wait_sock "$dir/cow.sock"
pids+=("$(cat "$dir/cow.pid")")
replay cow "nbd+unix:///?socket=$dir/cow.sock"
kill "$(cat "$dir/cow.pid")"

serve_run() {  # NAME ARGS...
  local name=$1
  shift
  "$ferry" serve "$SRC" "$dir/$name.img" --journal "$dir/$name.j" --predictor "$predictor" "$@" \
    --run "fio --name=app --ioengine=nbd --uri=\"\$uri\" --read_iolog=during.log ${fio_common[*]} --output=$dir/$name.json && \
           '$ferry' control '$dir/$name.j' status >'$dir/$name.status'" 2>"$dir/$name.log"
}
serve_run cold
serve_run warm --history history.rec

python3 - "$dir" "$link" "$size" "$duration" "$predictor" <<'PY'
import json, sys
d, link, size, duration, predictor = sys.argv[1:6]
def fio(name):
    t = open(f"{d}/{name}.json").read()
    j = json.loads(t[t.index("{"):])["jobs"][0]["read"]
    p = j["clat_ns"]["percentile"]
    return {"reads": j["total_ios"], "p50": p["50.000000"] / 1e6, "p99": p["99.000000"] / 1e6, "p999": p["99.900000"] / 1e6}
rows = {n: fio(n) for n in ["cow", "cold", "warm"]}
st = {n: json.load(open(f"{d}/{n}.status")) for n in ["cold", "warm"]}
print(f"source: {size} behind nbdkit delay+rate ({link}); synth workload {duration}, first quarter watched and "
      f"recorded, the rest replayed by fio; ferry --predictor {predictor}")
print(f"{'':6} {'reads':>7} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8} {'waited':>7} {'first':>6} {'seen':>6} {'prevented':>9}")
for n, r in rows.items():
    s = st.get(n)
    extra = (f"{s['read_stalls']:7d} {s['read_stalls_first_touch']:6d} {s['read_stalls_seen']:6d} "
             f"{s['prevented_stalls']:9d}") if s else f"{'-':>7} {'-':>6} {'-':>6} {'-':>9}"
    print(f"{n:6} {r['reads']:7d} {r['p50']:7.2f} {r['p99']:7.2f} {r['p999']:8.2f} {extra}")
w, c, k = rows["warm"], rows["cold"], rows["cow"]
print(f"warm / cold: reads waited {st['warm']['read_stalls'] / max(1, st['cold']['read_stalls']):.2f}x, "
      f"p99 {w['p99'] / c['p99']:.2f}x, p99.9 {w['p999'] / c['p999']:.2f}x")
print(f"warm / cow:  p99 {w['p99'] / k['p99']:.2f}x, p99.9 {w['p999'] / k['p999']:.2f}x")
PY
