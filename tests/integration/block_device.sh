#!/usr/bin/env bash
# Block devices (loop devices over image files) as SRC and DST: size from BLKGETSIZE64,
# zeroes through BLKZEROOUT, release through BLKDISCARD.
source "$(dirname "$0")/lib/common.bash"
need losetup
[ "$(id -u)" = 0 ] || die "needs root to attach loop devices (CI runs as root)"

loop() {  # VAR FILE: attaches a loop device to FILE, sets VAR to it, detaches on exit
  local dev
  dev=$(losetup -f --show "$2") || die "cannot attach a loop device to $2 (losetup)"
  _on_exit+=("losetup -d $dev")
  printf -v "$1" %s "$dev"
}

make_image "$T/src.img" 64M 29 50
want=$(sum_of "$T/src.img")
dd if=/dev/urandom of="$T/dst.img" bs=1M count=64 status=none  # stale data to overwrite
loop src "$T/src.img"
loop dst "$T/dst.img"

"$FERRY" migrate "$src" "$dst" --verify --json --progress none >"$T/out" || die "block to block failed"
[ "$(json_field "$T/out" volume_size)" = $((64 << 20)) ] || die "block device size wrong"
cmp "$src" "$dst" || die "block devices differ"
pass "block device -> block device, verified (stale zeroes overwritten)"

"$FERRY" migrate "$src" "$T/file.img" --progress none >/dev/null || die "block -> file failed"
[ "$(sum_of "$T/file.img")" = "$want" ] || die "block -> file differs"
pass "block device -> file"

truncate -s 32M "$T/small.img"
loop small "$T/small.img"
expect_exit 1 "destination .* is 32.0 MiB .*smaller than the source" "$FERRY" migrate "$src" "$small"
expect_exit 2 "SRC and DST are the same volume" "$FERRY" migrate "$src" "$src"
pass "small and identical block devices refused"

"$FERRY" migrate "$dst" "$T/back.img" --verify --release-source --progress none >/dev/null || die "release failed"
[ "$(sum_of "$T/back.img")" = "$want" ] || die "copy before release differs"
cmp -n $((64 << 20)) "$dst" /dev/zero || die "released block device does not read as zeroes"
pass "block device released with BLKDISCARD after verify"
