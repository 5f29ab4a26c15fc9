#!/usr/bin/env bash
# Bulk-copy comparison: ferry migrate against nbdcopy and qemu-img convert, on the same
# image, in one run, file to file, NBD to NBD, and NBD to a remote NBD destination
# (nbdkit's delay filter: 2 ms on every write, zero and extents query, and a connection that
# takes 10 ms to open and 2 ms to close, as a TCP connect and NBD handshake of a few round
# trips would). Prints each median time and
# throughput, and ferry's speed relative to the faster peer (>1: ferry is faster).
#
# ferry always flushes the destination before it reports success (a migration is
# durable when ferry says it is done). Neither peer does by default, so each peer runs
# twice: as it comes, and in its durable mode (nbdcopy --flush, qemu-img convert
# -t writeback, both of which end with a flush). The like-for-like ratio is against the
# faster durable peer; the ratio against the faster peer in any mode is printed too.
#
#   bench/compare_copy.sh [--size 2G] [--runs 5] [--dir DIR] [--ferry PATH]
#
# The image is random data with holes (nbdkit sparse-random, percent=50, fixed seed), so
# every tool sees the same bytes and the same allocation. Times are medians over --runs
# interleaved rounds (bench/rounds.py: each round runs every tool once, after one
# warm-up round), from page cache. NBD servers are nbdkit on Unix sockets: the source
# serves the image with the file plugin; the destination is a fresh memory plugin for
# each run.
set -euo pipefail

size=2G runs=5 dir="" ferry=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "compare_copy: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare compare_copy nbdkit nbdcopy qemu-img python3
cleanup() {
  for p in "$dir"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

bytes=$(python3 -c "import sys; s='$size'.upper().rstrip('B').rstrip('I'); m={'K':1<<10,'M':1<<20,'G':1<<30,'T':1<<40}; print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))")
echo "creating a $size image of random data with holes in $dir ..." >&2
nbdkit -U - sparse-random "$bytes" percent=50 seed=42 --run "nbdcopy \"\$uri\" $dir/src.img"
cat "$dir/src.img" > /dev/null  # into page cache for every tool alike

# Writes one rounds.py entry: name, prepare (shell), argv.
entry() {
  python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "prepare": sys.argv[2], "cmd": sys.argv[3:]}))' "$@"
}

# File to file.
# sync (untimed): every tool starts with no dirty pages left by the one before it.
rmdst="rm -f $dir/dst.img; sync"
{
  entry f_ferry "$rmdst" "$ferry" migrate --progress none "$dir/src.img" "$dir/dst.img"
  entry f_nbdcopy "$rmdst" nbdcopy "$dir/src.img" "$dir/dst.img"
  entry f_qemu "$rmdst" qemu-img convert -f raw -O raw "$dir/src.img" "$dir/dst.img"
  entry f_nbdcopy_d "$rmdst" nbdcopy --flush "$dir/src.img" "$dir/dst.img"
  entry f_qemu_d "$rmdst" qemu-img convert -t writeback -f raw -O raw "$dir/src.img" "$dir/dst.img"
} | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' >"$dir/file.json"
echo "file to file: $runs interleaved rounds ..." >&2
python3 "$top/bench/rounds.py" "$runs" 1 <"$dir/file.json" >"$dir/file.times"
rm -f "$dir/dst.img"

# NBD to NBD.
nbdkit -U "$dir/src.sock" -P "$dir/src.pid" -r file "$dir/src.img"
restart_dst="sync; if [ -f $dir/dst.pid ]; then p=\$(cat $dir/dst.pid); kill \$p; while kill -0 \$p 2>/dev/null; do sleep 0.01; done; fi; rm -f $dir/dst.sock; nbdkit -U $dir/dst.sock -P $dir/dst.pid memory $bytes"
S="nbd+unix:///?socket=$dir/src.sock" D="nbd+unix:///?socket=$dir/dst.sock"
{
  entry n_ferry "$restart_dst" "$ferry" migrate --progress none "$S" "$D"
  entry n_nbdcopy "$restart_dst" nbdcopy "$S" "$D"
  entry n_qemu "$restart_dst" qemu-img convert -n -f raw -O raw "$S" "$D"
  entry n_nbdcopy_d "$restart_dst" nbdcopy --flush "$S" "$D"
  entry n_qemu_d "$restart_dst" qemu-img convert -n -t writeback -f raw -O raw "$S" "$D"
} | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' >"$dir/nbd.json"
echo "NBD to NBD: $runs interleaved rounds ..." >&2
python3 "$top/bench/rounds.py" "$runs" 1 <"$dir/nbd.json" >"$dir/nbd.times"

# The destination 2 ms away: what keeps writes in flight shows (one worker per write in
# flight would take 2 ms per copy).
restart_far="${restart_dst/nbdkit -U/nbdkit --filter=delay -U} wdelay=2ms delay-zero=2ms delay-extents=2ms delay-open=10ms delay-close=2ms"
{
  entry r_ferry "$restart_far" "$ferry" migrate --progress none "$S" "$D"
  entry r_nbdcopy_d "$restart_far" nbdcopy --flush "$S" "$D"
  entry r_qemu_d "$restart_far" qemu-img convert -n -t writeback -f raw -O raw "$S" "$D"
} | python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' >"$dir/far.json"
echo "NBD to a destination 2 ms away: $runs interleaved rounds ..." >&2
python3 "$top/bench/rounds.py" "$runs" 1 <"$dir/far.json" >"$dir/far.times"

t() { awk -v n="$1" '$1 == n { print $2 }' "$dir/file.times" "$dir/nbd.times" "$dir/far.times"; }
f_ferry=$(t f_ferry) f_nbdcopy=$(t f_nbdcopy) f_qemu=$(t f_qemu) f_nbdcopy_d=$(t f_nbdcopy_d) f_qemu_d=$(t f_qemu_d)
n_ferry=$(t n_ferry) n_nbdcopy=$(t n_nbdcopy) n_qemu=$(t n_qemu) n_nbdcopy_d=$(t n_nbdcopy_d) n_qemu_d=$(t n_qemu_d)

r_ferry=$(t r_ferry) r_nbdcopy_d=$(t r_nbdcopy_d) r_qemu_d=$(t r_qemu_d)

python3 - "$bytes" "$f_ferry" "$f_nbdcopy" "$f_qemu" "$f_nbdcopy_d" "$f_qemu_d" \
  "$n_ferry" "$n_nbdcopy" "$n_qemu" "$n_nbdcopy_d" "$n_qemu_d" "$r_ferry" "$r_nbdcopy_d" "$r_qemu_d" <<'PY'
import sys
b = int(sys.argv[1]); t = list(map(float, sys.argv[2:12])); r = list(map(float, sys.argv[12:]))
gib = b / (1 << 30)
def cell(x): return f"{x:.3f} s ({gib/x:.2f} GiB/s)"
print("| path | ferry migrate | nbdcopy | qemu-img convert | nbdcopy --flush | qemu-img convert -t writeback "
      "| ferry / faster durable peer | ferry / faster peer, any mode |")
print("|---|---|---|---|---|---|---|---|")
for path, (fe, nc, qi, ncd, qid) in (("file to file", t[0:5]), ("NBD to NBD", t[5:10])):
    print(f"| {path} | {cell(fe)} | {cell(nc)} | {cell(qi)} | {cell(ncd)} | {cell(qid)} "
          f"| {min(ncd, qid)/fe:.2f} | {min(nc, qi, ncd, qid)/fe:.2f} |")
fe, ncd, qid = r
print(f"| NBD to NBD 2 ms away | {cell(fe)} | - | - | {cell(ncd)} | {cell(qid)} | {min(ncd, qid)/fe:.2f} | - |")
PY
