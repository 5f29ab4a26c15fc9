#!/usr/bin/env bash
# Issue 12 benchmark (a): an application reading through the export while the volume
# migrates from a remote-like source, against the naive peer, in one run.
#
#   bench/link_anchor.sh [--size 1G] [--runtime 20] [--link 'rdelay=2ms rate=400M']
#                        [--dir DIR] [--ferry PATH] [--ferry-args '...' (ferry's run only)]
#                        [--rounds N] [--rwmix READ_PERCENT] [--fio-args '...']
#
# The source: SIZE of random data behind nbdkit's delay and rate filters (a 2 ms,
# 400 Mbit/s remote disk by default). fio (ioengine=nbd, 4 KiB random reads, zipf:1.1,
# queue depth 4) runs RUNTIME seconds from the moment each server is up, against:
#   floor     nbdkit file on the source file itself (no link: the local floor)
#   cow       nbdkit's cow filter with cow-on-read=true over the slow source (naive
#             post-copy: copies what is read, nothing in the background)
#   dmclone   ferry serve --policy dmclone to a fresh destination
#   ferry     ferry serve on its defaults to a fresh destination
# Printed: read p50/p99/p99.9 (fio's completion latency) and IOPS of each, ferry's
# ratios to cow, and for ferry's runs the seconds from the start until the whole volume
# was present (polled with ferry status). Targets (issue 12): ferry's p99 and p99.9 at
# most 0.6x cow's, IOPS at least cow's, the volume present 35 s after the start.
# With --rounds N, cow and ferry run N times, alternately (floor and dmclone once): each
# round's ratios are printed, then their medians (one run's IOPS moves by 15% on a
# 2-core machine, cow's as much as ferry's).
# With --rwmix P, fio mixes random writes in (randrw, P% reads; the floor then writes
# the source file, so it is a copy of it), and the writes' latency is printed too, with
# ferry's ratios to cow (no target: under dm-clone and the cow filter a partial write to
# a missing granule waits for the granule; under ferry it is written behind its copy).
# --fio-args adds options to every fio run: `--rate_iops=7000,3000` offers every server
# the same load, so that latencies compare at equal I/O rather than at each one's own.
set -euo pipefail

size=1G runtime=20 link="rdelay=2ms rate=400M" dir="" ferry="" ferry_args="" rounds=1 rwmix="" fio_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    --ferry-args) ferry_args=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rwmix) rwmix=$2; shift 2 ;;
    --fio-args) fio_args=$2; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "link_anchor: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare link_anchor nbdkit fio nbdcopy python3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

[ -s "$dir/src.img" ] || nbdkit -U - sparse-random "$size" seed=3 percent=100 --run "nbdcopy \"\$uri\" $dir/src.img"
rm -f "$dir"/*.sock
# shellcheck disable=SC2086
nbdkit -U "$dir/src.sock" -P "$dir/src.pid" -r --filter=delay --filter=rate file "$dir/src.img" $link
for _ in $(seq 1 100); do [ -s "$dir/src.pid" ] && break; sleep 0.05; done
pids+=("$(cat "$dir/src.pid")")
SRC="nbd+unix:///?socket=$dir/src.sock"

rw=(--rw=randread)
[ -z "$rwmix" ] || rw=(--rw=randrw --rwmixread="$rwmix")
run_fio() {  # NAME URI: fio's JSON into $dir/NAME.json
  # shellcheck disable=SC2086  # --fio-args: a list of options, for every run
  fio $fio_args --name=r --ioengine=nbd --uri="$2" "${rw[@]}" --random_distribution=zipf:1.1 --bs=4k --iodepth=4 \
    --size="$size" --time_based --runtime="$runtime" --randseed=1 --percentile_list=50:99:99.9 \
    --output-format=json --output="$dir/$1.json"
}

# The previous run's destinations (2 GiB) are written back first: their writeback under
# the floor's or cow's fio took them to a tenth of their IOPS.
sync
# floor: the source file without the link (a copy of it when fio writes).
floor_img=$dir/src.img floor_ro=-r
if [ -n "$rwmix" ]; then
  cp --sparse=always "$dir/src.img" "$dir/floor.img"
  floor_img=$dir/floor.img floor_ro=""
fi
nbdkit -U "$dir/floor.sock" -P "$dir/floor.pid" $floor_ro file "$floor_img"
wait_sock "$dir/floor.sock"
pids+=("$(cat "$dir/floor.pid")")
run_fio floor "nbd+unix:///?socket=$dir/floor.sock"

# cow: nbdkit's cow filter, cow-on-read, over the slow source, from an empty overlay.
cow_run() {  # NAME
  sync
  rm -f "$dir/cow.sock" "$dir/cow.pid"
  nbdkit -U "$dir/cow.sock" -P "$dir/cow.pid" --filter=cow nbd socket="$dir/src.sock" cow-on-read=true
  wait_sock "$dir/cow.sock"
  local pid
  pid=$(cat "$dir/cow.pid")
  pids+=("$pid")
  run_fio "$1" "nbd+unix:///?socket=$dir/cow.sock"
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

serve_run() {  # NAME ARGS...: ferry serve from the slow source, fio, then until complete
  local name=$1 start done_s=""
  shift
  rm -f "$dir/$name.img" "$dir/$name.j" "$dir/$name.j.live" "$dir/$name.sock"
  sync  # the run before's destination, written back before this one starts
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$ferry" serve "$SRC" "$dir/$name.img" --journal "$dir/$name.j" --socket "$dir/$name.sock" \
    --report "$dir/$name.html" "$@" 2>"$dir/$name.log" &
  local pid=$!
  pids+=($pid)
  wait_sock "$dir/$name.sock"
  run_fio "$name" "nbd+unix:///?socket=$dir/$name.sock"
  "$ferry" status "$dir/$name.j" >"$dir/$name.status" 2>&1 || true
  for _ in $(seq 1 1200); do
    if [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' <("$ferry" status --json "$dir/$name.j" 2>/dev/null) 2>/dev/null)" = copied ]; then
      done_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
      break
    fi
    sleep 0.1
  done
  echo "${done_s:-never}" >"$dir/$name.done"
  kill -TERM $pid
  wait $pid 2>/dev/null || true
}
serve_run dmclone --policy dmclone
for r in $(seq 1 "$rounds"); do
  cow_run "cow.$r"
  # shellcheck disable=SC2086  # --ferry-args: a list of flags, for ferry's run alone
  serve_run "ferry.$r" $ferry_args
done

rm -f "$dir/floor.img"
python3 - "$dir" "$link" "$size" "$runtime" "$rounds" "$rwmix" <<'PY'
import json, statistics, sys
d, link, size, runtime, rounds, rwmix = sys.argv[1:7]
rounds = int(rounds)
def load(name, kind="read"):
    j = json.load(open(f"{d}/{name}.json"))["jobs"][0][kind]
    p = j["clat_ns"]["percentile"]
    return {"iops": j["iops"], "p50": p["50.000000"] / 1e6, "p99": p["99.000000"] / 1e6, "p999": p["99.900000"] / 1e6}
names = ["floor", "dmclone"] + [f"{n}.{r}" for r in range(1, rounds + 1) for n in ("cow", "ferry")]
rows = {n: load(n) for n in names}
workload = f"randrw, {rwmix}% reads" if rwmix else "randread"
print(f"source: {size} behind nbdkit delay+rate ({link}); fio {workload} 4k zipf:1.1 QD4, {runtime} s from the start")
if rwmix:
    print("reads:")
print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'IOPS':>8} {'complete after':>15}")
for n, r in rows.items():
    done = open(f"{d}/{n}.done").read().strip() + " s" if n.startswith(("dmclone", "ferry")) else "-"
    print(f"{n:10} {r['p50']:8.2f} {r['p99']:8.2f} {r['p999']:9.2f} {r['iops']:8.0f} {done:>15}")
ratios = []
for r in range(1, rounds + 1):
    c, f = rows[f"cow.{r}"], rows[f"ferry.{r}"]
    ratios.append((f["p99"] / c["p99"], f["p999"] / c["p999"], f["iops"] / c["iops"]))
    print(f"round {r}: ferry / cow: p99 {ratios[-1][0]:.2f}x, p99.9 {ratios[-1][1]:.2f}x (target <= 0.6), "
          f"IOPS {ratios[-1][2]:.2f}x (target >= 1.0)")
if rounds > 1:
    m = [statistics.median(x[i] for x in ratios) for i in range(3)]
    print(f"median of {rounds} rounds: p99 {m[0]:.2f}x, p99.9 {m[1]:.2f}x, IOPS {m[2]:.2f}x")
if rwmix:
    print("writes:")
    w = {n: load(n, "write") for n in names}
    print(f"{'':10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'IOPS':>8}")
    for n, r in w.items():
        print(f"{n:10} {r['p50']:8.2f} {r['p99']:8.2f} {r['p999']:9.2f} {r['iops']:8.0f}")
    for r in range(1, rounds + 1):
        c, f = w[f"cow.{r}"], w[f"ferry.{r}"]
        print(f"round {r}: ferry / cow, writes: p99 {f['p99'] / c['p99']:.2f}x, p99.9 {f['p999'] / c['p999']:.2f}x, "
              f"IOPS {f['iops'] / c['iops']:.2f}x")
PY
echo "reports: $dir/ferry.$rounds.html $dir/dmclone.html; ferry status after fio: $dir/ferry.$rounds.status"
