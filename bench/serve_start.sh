#!/usr/bin/env bash
# The start of a live migration: how long until `ferry serve`'s export answers, and
# until the whole volume is present, with each predictor, against the same run with no
# predictor, in one run.
#
#   bench/serve_start.sh [--size 1G] [--link 'delay-read=2ms rate=400M'] [--history TRACE]
#                        [--rounds 2] [--dir DIR] [--ferry PATH]
#
# The source is SIZE of random data behind nbdkit's delay and rate filters (LINK). Each
# round runs, in turn, `ferry serve SRC DST --journal J --socket S --exit-when-done`
# with: nothing; --predictor stride+markov; --predictor ensemble; and, with --history
# (a trace of the volume's workload, e.g. scripts/demo's history.log), the same three
# with --history TRACE. No application: `nbdinfo --size` asks the export every 20 ms
# from the start until it answers. Printed: seconds until the first answer, and until
# the exit (the copy complete).
set -euo pipefail

size=1G link="delay-read=2ms rate=400M" history="" rounds=2 dir="" ferry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --history) history=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "serve_start: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare serve_start nbdkit nbdinfo nbdcopy
cd "$dir"
cleanup() { [ -s src.pid ] && kill "$(cat src.pid)" 2>/dev/null || true; }
trap cleanup EXIT
[ -e src.img ] || nbdkit -U - sparse-random "$size" seed=7 percent=100 --run 'nbdcopy "$uri" src.img'
rm -f "$dir/src.sock" "$dir/serve.sock"  # a run before may have left them
# shellcheck disable=SC2086  # LINK is the filters' parameters, one word each
nbdkit -U "$dir/src.sock" -P "$dir/src.pid" -r --filter=delay --filter=rate file src.img $link
wait_sock "$dir/src.sock"
src="nbd+unix:///?socket=$dir/src.sock"

configs=("none" "stride+markov" "ensemble")
echo "| round | flags | export answers after | complete after |"
echo "|---|---|---:|---:|"
for r in $(seq 1 "$rounds"); do
  for h in "" ${history:+"$history"}; do
    for p in "${configs[@]}"; do
      rm -f dst.img j j.* serve.sock
      flags=(--predictor "$p")
      [ -n "$h" ] && flags+=(--history "$h")
      t0=$(date +%s.%N)
      "$ferry" serve "$src" dst.img --journal j --socket "$dir/serve.sock" --exit-when-done "${flags[@]}" 2>serve.log &
      pid=$!
      until nbdinfo --size "nbd+unix:///?socket=$dir/serve.sock" >/dev/null 2>&1; do
        kill -0 $pid 2>/dev/null || { echo "serve_start: ferry serve exited: $(tail -2 serve.log)" >&2; exit 1; }
        sleep 0.02
      done
      t1=$(date +%s.%N)
      wait $pid || { echo "serve_start: ferry serve failed: $(tail -2 serve.log)" >&2; exit 1; }
      t2=$(date +%s.%N)
      printf '| %s | %s | %.2f s | %.2f s |\n' "$r" "--predictor $p${h:+ --history $(basename "$h")}" \
        "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t0" | bc)"
    done
  done
done
