#!/usr/bin/env bash
# File to file: a sparse image is copied exactly, holes stay holes, the summary and the
# progress lines are well formed, and verify finds a planted difference.
source "$(dirname "$0")/lib/common.bash"

make_image "$T/src.img" 256M 3 40
"$FERRY" migrate "$T/src.img" "$T/dst.img" --json --progress json >"$T/out"
cmp "$T/src.img" "$T/dst.img" || die "copy differs"
qemu-img compare -q -f raw -F raw "$T/src.img" "$T/dst.img" || die "qemu-img compare says the copy differs"
pass "copy is identical (cmp, qemu-img compare)"

[ "$(stat -c %s "$T/dst.img")" = $((256 << 20)) ] || die "destination not created at the source size"
src_alloc=$(du -k "$T/src.img" | cut -f1) dst_alloc=$(du -k "$T/dst.img" | cut -f1)
[ "$dst_alloc" -le $((src_alloc + 1024)) ] || die "destination not sparse: $dst_alloc KiB allocated vs source $src_alloc KiB"
pass "holes stay holes ($dst_alloc KiB allocated of 262144)"

grep -q '"type":"progress"' "$T/out" || die "no JSON progress lines"
[ "$(json_field "$T/out" volume_size)" = $((256 << 20)) ] || die "summary volume_size wrong"
copied=$(json_field "$T/out" bytes_copied) skipped=$(json_field "$T/out" bytes_skipped)
[ $((copied + skipped)) = $((256 << 20)) ] || die "copied + skipped != volume size ($copied + $skipped)"
[ "$skipped" -gt 0 ] || die "nothing skipped from a sparse source"
pass "summary: copied $copied, skipped $skipped"

"$FERRY" verify "$T/src.img" "$T/dst.img" >"$T/v" || die "verify of equal volumes failed"
grep -q "equal" "$T/v" || die "verify did not say equal"
printf '\xff' | dd of="$T/dst.img" bs=1 seek=$((100 << 20)) conv=notrunc status=none
rc=0
"$FERRY" verify "$T/src.img" "$T/dst.img" 2>"$T/verr" || rc=$?
[ $rc = 3 ] || die "verify of differing volumes exited $rc, want 3"
grep -q "offset $((100 << 20)) length 4096" "$T/verr" || die "verify did not name the differing range: $(cat "$T/verr")"
"$FERRY" verify --json "$T/src.img" "$T/dst.img" >"$T/vj" || true
[ "$(json_field "$T/vj" equal)" = False ] || die "verify --json did not say equal=false"
pass "verify: exit 0 when equal, 3 and the range when not"

# Into an existing larger destination with stale data: every byte up to the source size
# becomes the source's, zeroes included.
dd if=/dev/urandom of="$T/big.img" bs=1M count=300 status=none
"$FERRY" migrate "$T/src.img" "$T/big.img" --progress none >/dev/null
cmp -n $((256 << 20)) "$T/src.img" "$T/big.img" || die "copy into a stale larger destination differs"
pass "stale larger destination overwritten, zeroes included"
