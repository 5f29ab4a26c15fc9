#!/usr/bin/env bash
# Bad input: each case gets one line on stderr naming the problem, the documented exit
# code (1 failure, 2 usage), and nothing is written to the destination or the journal.
source "$(dirname "$0")/lib/common.bash"
need setpriv

make_image "$T/src.img" 8M 9 50
dd if=/dev/urandom of="$T/small.img" bs=1M count=1 status=none
small_sum=$(sum_of "$T/small.img")

# Missing source; the destination is not created.
expect_exit 1 "source: cannot open .*/missing.img: No such file or directory" \
  "$FERRY" migrate "$T/missing.img" "$T/new.img"
[ ! -e "$T/new.img" ] || die "destination created for a missing source"
pass "missing source"

# Unreadable source (as an unprivileged user: root reads anything).
chmod 755 "$T"
cp "$T/src.img" "$T/secret.img" && chmod 000 "$T/secret.img"
expect_exit 1 "source: cannot open .*/secret.img: Permission denied" \
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$FERRY" migrate "$T/secret.img" "$T/new.img"
[ ! -e "$T/new.img" ] || die "destination created for an unreadable source"
pass "unreadable source"

# Destination smaller than the source: refused, untouched.
expect_exit 1 "destination .*small.img is 1.00 MiB .*smaller than the source.*at least 8388608 bytes" \
  "$FERRY" migrate "$T/src.img" "$T/small.img"
[ "$(sum_of "$T/small.img")" = "$small_sum" ] || die "smaller destination was modified"
pass "destination smaller than the source"

# SRC and DST the same file, by name and through a symlink.
src_sum=$(sum_of "$T/src.img")
expect_exit 2 "SRC and DST are the same volume" "$FERRY" migrate "$T/src.img" "$T/src.img"
ln -s "$T/src.img" "$T/link.img"
expect_exit 2 "SRC and DST are the same volume" "$FERRY" migrate "$T/src.img" "$T/link.img"
[ "$(sum_of "$T/src.img")" = "$src_sum" ] || die "source modified"
pass "SRC and DST the same"

# Malformed URIs and sizes: usage errors.
expect_exit 2 "invalid NBD URI 'nbd://\[::1'" "$FERRY" migrate "nbd://[::1" "$T/new.img"
expect_exit 2 "invalid NBD URI" "$FERRY" migrate "$T/src.img" "nbd+unix://"
expect_exit 2 "unsupported URI 'http://x/y'" "$FERRY" migrate "http://x/y" "$T/new.img"
expect_exit 2 "invalid --max-chunk '12X': unknown suffix" "$FERRY" migrate --max-chunk 12X "$T/src.img" "$T/new.img"
expect_exit 2 "--granule 3072: must be a power of two" "$FERRY" migrate --granule 3K "$T/src.img" "$T/new.img"
expect_exit 2 "invalid --rate 'fast'" "$FERRY" migrate --rate fast "$T/src.img" "$T/new.img"
expect_exit 2 "--max-chunk must be at least --min-chunk" \
  "$FERRY" migrate --min-chunk 1M --max-chunk 256K "$T/src.img" "$T/new.img"
expect_exit 2 "invalid --progress 'loud'" "$FERRY" migrate --progress loud "$T/src.img" "$T/new.img"
expect_exit 2 "--release-source needs --verify" "$FERRY" migrate --release-source "$T/src.img" "$T/new.img"
expect_exit 2 "see 'ferry --help'" "$FERRY" migrate --frobnicate "$T/src.img" "$T/new.img"
expect_exit 2 "see 'ferry --help'" "$FERRY" migrate "$T/src.img"
[ ! -e "$T/new.img" ] || die "destination created on a usage error"
pass "malformed URIs, sizes and flags"

# Unreachable NBD servers.
expect_exit 1 "cannot connect to NBD server .*No such file or directory" \
  "$FERRY" migrate "nbd+unix:///?socket=$T/absent.sock" "$T/new.img"
expect_exit 1 "cannot connect to NBD server nbd://127.0.0.1:1/.*Connection refused" \
  "$FERRY" migrate "$T/src.img" "nbd://127.0.0.1:1/"
[ ! -e "$T/new.img" ] || die "destination created for an unreachable server"
pass "unreachable NBD server"

# Read-only destinations: an NBD export served read-only, a file without write permission.
ro=$(nbdkit_start ro -r memory 8M)
expect_exit 1 "NBD export .* is read-only" "$FERRY" migrate "$T/src.img" "$ro"
cp "$T/small.img" "$T/ro.img" && truncate -s 8M "$T/ro.img" && chmod 444 "$T/ro.img"
ro_sum=$(sum_of "$T/ro.img")
expect_exit 1 "destination: cannot open .*ro.img for writing: Permission denied" \
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$FERRY" migrate "$T/src.img" "$T/ro.img"
[ "$(sum_of "$T/ro.img")" = "$ro_sum" ] || die "read-only destination modified"
pass "read-only destination"

# Journals: a finished one to damage, one from another migration, a file that is no journal.
"$FERRY" migrate "$T/src.img" "$T/dst.img" --journal "$T/j" --progress none >/dev/null
cp "$T/j" "$T/j.bad"
half=$(( $(stat -c %s "$T/j.bad") / 2 ))
printf 'XXXX' | dd of="$T/j.bad" bs=1 seek=20 conv=notrunc status=none
printf 'XXXX' | dd of="$T/j.bad" bs=1 seek=$((half + 20)) conv=notrunc status=none
jbad_sum=$(sum_of "$T/j.bad")
dd if=/dev/urandom of="$T/dst2.img" bs=1M count=8 status=none
dst2_sum=$(sum_of "$T/dst2.img")
expect_exit 1 "journal .*j.bad is corrupt .*checksum mismatch.*delete it and rerun" \
  "$FERRY" migrate "$T/src.img" "$T/dst2.img" --journal "$T/j.bad"
[ "$(sum_of "$T/j.bad")" = "$jbad_sum" ] || die "corrupt journal was modified"
[ "$(sum_of "$T/dst2.img")" = "$dst2_sum" ] || die "destination written despite a corrupt journal"
pass "corrupt journal"

cp "$T/j" "$T/j.foreign"
jf_sum=$(sum_of "$T/j.foreign")
expect_exit 1 "journal .*j.foreign belongs to another migration: its destination is .*dst.img" \
  "$FERRY" migrate "$T/src.img" "$T/dst2.img" --journal "$T/j.foreign"
make_image "$T/src16.img" 16M 2 50
expect_exit 1 "belongs to another migration: its source is" \
  "$FERRY" migrate "$T/src16.img" "$T/dst.img" --journal "$T/j.foreign"
expect_exit 1 "belongs to another migration: its granule is 65536, this run's is 131072" \
  "$FERRY" migrate "$T/src.img" "$T/dst.img" --granule 128K --journal "$T/j.foreign"
[ "$(sum_of "$T/j.foreign")" = "$jf_sum" ] || die "foreign journal was modified"
[ "$(sum_of "$T/dst2.img")" = "$dst2_sum" ] || die "destination written despite a foreign journal"
pass "journal from another migration"

expect_exit 1 "cannot create journal .*/nodir/j: directory .*/nodir: No such file or directory" \
  "$FERRY" migrate "$T/src.img" "$T/new.img" --journal "$T/nodir/j"
[ ! -e "$T/new.img" ] || die "destination created although the journal cannot be"
pass "journal in a missing directory refused before the destination is created"

echo "just some notes" >"$T/notes.txt"
expect_exit 1 "notes.txt is not a ferry journal" "$FERRY" migrate "$T/src.img" "$T/dst2.img" --journal "$T/notes.txt"
[ "$(cat "$T/notes.txt")" = "just some notes" ] || die "non-journal file modified"
expect_exit 1 "notes.txt is not a ferry journal" "$FERRY" status "$T/notes.txt"
expect_exit 1 "cannot open journal .*nope: No such file" "$FERRY" status "$T/nope"
pass "not a journal"
