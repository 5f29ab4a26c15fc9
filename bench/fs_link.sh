#!/usr/bin/env bash
# Issue 12 benchmark (b): a kernel file system on ferry's export over a slow remote-like
# link, reading and writing files while the volume migrates.
#
#   bench/fs_link.sh [--size 512M] [--link 'rdelay=2ms rate=40M'] [--runtime 40]
#                    [--dir DIR] [--ferry PATH] [--ferry-args '...']
#
# The source: an ext4 image of SIZE holding a tree of files (random data, 4 KiB to
# 4 MiB, made with mkfs.ext4 -d), behind nbdkit's delay and rate filters (2 ms,
# 40 Mbit/s by default). ferry serve exports it; nbdfuse makes the export a file, a loop
# device makes that a block device, and the kernel mounts the ext4 on it. For RUNTIME
# seconds a workload reads whole files in a random order (checksums against the
# source's, computed first) and writes a 1 MiB file (fsync; 16 names in turn), page cache dropped
# between rounds. Then ferry status gives the time in ferry of every read (p50, p99)
# and of the reads that missed, with their mean size, and the bound the issue sets for
# those: 1.5 x (source latency + mean request bytes / bandwidth). Needs root (losetup,
# mount). Targets (issue 12): ferry's read p99 at most 60 ms; reads that missed at most
# that bound.
set -euo pipefail

size=512M link="rdelay=2ms rate=40M" runtime=40 dir="" ferry="" ferry_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --link) link=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --ferry) ferry=$2; shift 2 ;;
    --ferry-args) ferry_args=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "fs_link: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.bash"
bench_prepare fs_link nbdkit nbdfuse losetup mount mkfs.ext4 python3
[ "$(id -u)" = 0 ] || { echo "fs_link: needs root (losetup, mount)" >&2; exit 1; }
loop="" serve_pid="" fuse_pid=""
cleanup() {
  mountpoint -q "$dir/mnt" && umount "$dir/mnt" || true
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
  [ -n "$fuse_pid" ] && { fusermount3 -u "$dir/fuse" 2>/dev/null || fusermount -u "$dir/fuse" 2>/dev/null || true; kill "$fuse_pid" 2>/dev/null || true; }
  # ferry serve stops (and commits) before its source goes.
  [ -n "$serve_pid" ] && { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; } || true
  [ -s "$dir/src.pid" ] && kill "$(cat "$dir/src.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# The source: files of random sizes, their checksums kept for the workload.
rm -rf "$dir/tree" "$dir"/*.sock "$dir/dst.img" "$dir/j" "$dir/j.live"
mkdir -p "$dir/tree" "$dir/mnt" "$dir/fuse"
python3 - "$dir/tree" "$size" <<'PY'
import os, random, sys, hashlib
root, size = sys.argv[1], sys.argv[2]
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
total = int(size[:-1]) * units[size[-1].upper()] if size[-1].isalpha() else int(size)
rng = random.Random(7)
budget, n, sums = total * 6 // 10, 0, []
while budget > 0:
    length = min(budget, int(4096 * 2 ** rng.uniform(0, 10)))
    d = os.path.join(root, f"d{n % 16:02d}")
    os.makedirs(d, exist_ok=True)
    data = rng.randbytes(length)
    with open(os.path.join(d, f"f{n:05d}"), "wb") as f:
        f.write(data)
    sums.append(f"{hashlib.md5(data).hexdigest()}  d{n % 16:02d}/f{n:05d}")
    budget -= length
    n += 1
with open(os.path.join(root, "..", "sums"), "w") as f:
    f.write("\n".join(sums) + "\n")
PY
mkfs.ext4 -q -F -d "$dir/tree" "$dir/src.img" "$size"
nfiles=$(wc -l <"$dir/sums")

# shellcheck disable=SC2086
nbdkit -U "$dir/src.sock" -P "$dir/src.pid" -r --filter=delay --filter=rate file "$dir/src.img" $link
for _ in $(seq 1 100); do [ -S "$dir/src.sock" ] && break; sleep 0.05; done
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$ferry" serve "nbd+unix:///?socket=$dir/src.sock" "$dir/dst.img" --journal "$dir/j" --socket "$dir/live.sock" \
  --report "$dir/fs.html" $ferry_args 2>"$dir/serve.log" &
serve_pid=$!
for _ in $(seq 1 400); do [ -S "$dir/live.sock" ] && break; sleep 0.05; done
nbdfuse "$dir/fuse" "nbd+unix:///?socket=$dir/live.sock" &
fuse_pid=$!
for _ in $(seq 1 100); do [ -e "$dir/fuse/nbd" ] && break; sleep 0.05; done
loop=$(losetup -f --show "$dir/fuse/nbd")
mount -o noatime "$loop" "$dir/mnt"

# The workload: rounds of whole-file reads in random order, checked, and new files.
end=$(( $(date +%s) + runtime ))
round=0 read_files=0 bad=0
while [ "$(date +%s)" -lt "$end" ]; do
  sync; echo 3 >/proc/sys/vm/drop_caches
  while read -r sum name; do
    [ "$(date +%s)" -lt "$end" ] || break
    got=$(md5sum <"$dir/mnt/$name" | cut -d' ' -f1)
    [ "$got" = "$sum" ] || { bad=$((bad + 1)); echo "fs_link: $name differs" >&2; }
    read_files=$((read_files + 1))
  done < <(shuf -n 40 --random-source=<(yes $round) "$dir/sums")
  mkdir -p "$dir/mnt/new"
  # A rotating set of 16 files: new ones every round filled the volume after about 70
  # rounds (the tree is 60% of it), and dd's ENOSPC ended the run.
  dd if=/dev/urandom of="$dir/mnt/new/w$((round % 16))" bs=64k count=16 conv=fsync status=none
  round=$((round + 1))
done
"$ferry" status "$dir/j" >"$dir/status.txt" 2>&1 || true
"$ferry" status --json "$dir/j" >"$dir/status.json" 2>/dev/null || true
umount "$dir/mnt"
e2fsck -fn "$loop" >"$dir/fsck.txt" 2>&1 && fsck=clean || fsck="NOT clean (see $dir/fsck.txt)"

python3 - "$dir/status.json" "$link" "$size" "$runtime" "$read_files" "$nfiles" "$round" "$bad" "$fsck" <<'PY'
import json, re, sys
st, link, size, runtime, nread, nfiles, rounds, bad, fsck = sys.argv[1:10]
j = json.load(open(st))["live"]
m = {k: v for k, v in re.findall(r"(\w+)=(\S+)", link)}
units = {"K": 1e3, "M": 1e6, "G": 1e9}
rate = m.get("rate", "40M")
bw = float(rate[:-1]) * units[rate[-1].upper()] / 8 if rate[-1].isalpha() else float(rate) / 8
lat = m.get("rdelay", "2ms")
lat_s = float(lat[:-2]) / 1e3 if lat.endswith("ms") else float(lat[:-1])
reads, stalls = j["reads"], j["read_stalls"]
mean_bytes = j["read_miss_bytes"] / stalls if stalls else 0
bound_ms = 1.5 * (lat_s + mean_bytes / bw) * 1e3
print(f"ext4 ({size}, {nfiles} files) on ferry serve over nbdfuse and a loop device; source behind nbdkit ({link})")
print(f"workload: {runtime} s, {rounds} rounds, {nread} whole files read and checked ({bad} differed), "
      f"{rounds} files of 1 MiB written with fsync (16 names in turn); e2fsck afterwards: {fsck}")
print(f"ferry: {reads} reads, {stalls} waited for the source ({100 * stalls / max(reads, 1):.1f}%), "
      f"{j['percent']:.1f}% present at the end")
print(f"read p50 {j['read_p50_us'] / 1e3:.2f} ms, p99 {j['read_p99_us'] / 1e3:.2f} ms (target <= 60 ms: "
      f"{'met' if j['read_p99_us'] <= 60e3 else 'NOT met'})")
print(f"reads that missed: p50 {j['read_miss_p50_us'] / 1e3:.2f} ms, p99 {j['read_miss_p99_us'] / 1e3:.2f} ms, "
      f"mean size {mean_bytes / 1024:.0f} KiB; bound 1.5 x (latency + size / bandwidth) = {bound_ms:.2f} ms "
      f"(p50 {'within' if j['read_miss_p50_us'] / 1e3 <= bound_ms else 'over'}, "
      f"p99 {'within' if j['read_miss_p99_us'] / 1e3 <= bound_ms else 'over'})")
PY
echo "ferry status: $dir/status.txt; report: $dir/fs.html"
