#!/usr/bin/env bash
# --release-source: discards the source only after a successful verify; never when the
# verify finds a difference.
source "$(dirname "$0")/lib/common.bash"

make_image "$T/src.img" 32M 17 50
want=$(sum_of "$T/src.img")

# File source: punched to all holes after verify.
"$FERRY" migrate "$T/src.img" "$T/dst.img" --journal "$T/j" --verify --release-source --progress none >"$T/out"
[ "$(sum_of "$T/dst.img")" = "$want" ] || die "destination differs"
[ "$(stat -c %s "$T/src.img")" = $((32 << 20)) ] || die "source size changed"
[ "$(du -k "$T/src.img" | cut -f1)" -le 4 ] || die "source still allocated: $(du -k "$T/src.img")"
cmp -n $((32 << 20)) "$T/src.img" /dev/zero || die "released source does not read as zeroes"
grep -q "source released" "$T/out" || die "summary does not say the source was released"
[ "$(json_field <("$FERRY" status --json "$T/j") state)" = "source released" ] || die "journal state not released"
"$FERRY" migrate "$T/src.img" "$T/dst.img" --journal "$T/j" --verify --release-source --progress none | grep "nothing to do" >/dev/null ||
  die "rerun of a released migration did not say nothing to do"
[ "$(sum_of "$T/dst.img")" = "$want" ] || die "rerun touched the destination"
pass "file source released after verify; rerun is a no-op"

# NBD source (nbdkit file plugin, trim supported).
make_image "$T/src2.img" 32M 19 50
want2=$(sum_of "$T/src2.img")
s2=$(nbdkit_start s2 file "$T/src2.img")
"$FERRY" migrate "$s2" "$T/dst2.img" --verify --release-source --progress none >/dev/null || die "NBD release failed"
[ "$(sum_of "$T/dst2.img")" = "$want2" ] || die "destination differs (NBD source)"
[ "$(du -k "$T/src2.img" | cut -f1)" -le 4 ] || die "NBD source not released: $(du -k "$T/src2.img")"
pass "NBD source released through trim"

# A destination that loses writes (nbdkit null): verify fails, exit 3, source untouched.
make_image "$T/src3.img" 8M 23 50
want3=$(sum_of "$T/src3.img")
null=$(nbdkit_start null null 8M)
rc=0
"$FERRY" migrate "$T/src3.img" "$null" --verify --release-source --progress none >/dev/null 2>"$T/err" || rc=$?
[ $rc = 3 ] || die "mismatch exit $rc, want 3"
grep -q "volumes differ" "$T/err" || die "no mismatch report: $(cat "$T/err")"
[ "$(sum_of "$T/src3.img")" = "$want3" ] || die "source changed although the verify failed"
[ "$(du -k "$T/src3.img" | cut -f1)" -gt 1000 ] || die "source released although the verify failed"
pass "verify mismatch: exit 3, source untouched"
