#!/usr/bin/env bash
# kill -9 in the middle of a copy from a slow source (nbdkit delay filter), then the
# same command again: it resumes from the journal without recopying what was committed,
# and the destination ends byte-identical.
source "$(dirname "$0")/lib/common.bash"

make_image "$T/src.img" 64M 11 60
slow=$(nbdkit_start slow --filter=delay -r file "$T/src.img" delay-read=100ms)  # slow enough that the kill lands mid-copy even under the sanitizers
cmd=("$FERRY" migrate "$slow" "$T/dst.img" --journal "$T/j" --requests 2 --max-chunk 256K --progress none --json)
# The runs that get killed also hold a rate, so that the copy (about 38 MiB of data)
# takes at least 19 s however fast the machine is: the kill must land mid-copy, and a
# test that raced the copy's end proved nothing (a sanitizer run once lost that race).
held=("${cmd[@]}" --rate 2M)

"${held[@]}" >"$T/first.out" 2>&1 &
pid=$!
pct=0
for _ in $(seq 1 300); do
  sleep 0.1
  [ -s "$T/j" ] || continue
  "$FERRY" status --json "$T/j" >"$T/st" || continue
  pct=$(json_field "$T/st" percent)
  python3 -c "import sys; sys.exit(0 if $pct > 25 else 1)" && break
done
[ "$(json_field "$T/st" activity)" = running ] || die "status of a live migration is not 'running'"
kill -9 $pid || die "the migration ended before the kill at $pct%: the test proves nothing"
wait $pid 2>/dev/null || true
pass "killed -9 at $pct%"

"$FERRY" status --json "$T/j" >"$T/st"
[ "$(json_field "$T/st" activity)" = interrupted ] || die "status after kill -9 is not 'interrupted'"
present=$(json_field "$T/st" present_bytes)
[ "$present" -gt 0 ] || die "nothing committed before the kill"
"$FERRY" status "$T/j" | grep "rerun the same ferry migrate command to resume" >/dev/null || die "status gives no resume hint"
pass "status says interrupted with $present bytes present"

"${cmd[@]}" >"$T/second.out" || die "rerun failed: $(cat "$T/second.out")"
resumed=$(json_field "$T/second.out" bytes_resumed)
copied=$(json_field "$T/second.out" bytes_copied)
skipped=$(json_field "$T/second.out" bytes_skipped)
[ "$resumed" = "$present" ] || die "rerun resumed $resumed bytes, the journal had $present"
[ $((resumed + copied + skipped)) = $((64 << 20)) ] || die "resumed + copied + skipped != size"
cmp "$T/src.img" "$T/dst.img" || die "destination differs after resume"
qemu-img compare -q -f raw -F raw "$T/src.img" "$T/dst.img" || die "qemu-img compare differs"
[ "$(json_field <("$FERRY" status --json "$T/j") state)" = copied ] || die "journal not marked copied"
pass "rerun resumed $resumed bytes, copied $copied more, destination identical"

# Interrupted by a signal instead: stops cleanly, says how to resume, exit 1.
rm -f "$T/dst.img" "$T/j"
"${held[@]}" >"$T/third.out" 2>"$T/third.err" &
pid=$!
sleep 1.5
kill -INT $pid
rc=0
wait $pid || rc=$?
[ $rc = 1 ] || die "SIGINT exit $rc, want 1"
grep -q "interrupted; progress is saved in .*rerun the same command to resume" "$T/third.err" ||
  die "SIGINT message: $(cat "$T/third.err")"
"${cmd[@]}" >/dev/null || die "rerun after SIGINT failed"
cmp "$T/src.img" "$T/dst.img" || die "destination differs after SIGINT and resume"
pass "SIGINT stops cleanly and resumes"
