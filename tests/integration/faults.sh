#!/usr/bin/env bash
# Source faults through nbdkit's error filter: transient errors are retried and the
# copy succeeds; a persistent error stops the run with the journal intact, and the
# rerun after the fault clears resumes and finishes identical.
source "$(dirname "$0")/lib/common.bash"

make_image "$T/src.img" 64M 13 60

# Transient: 5% of reads fail once with EIO.
flaky=$(nbdkit_start flaky --filter=error -r file "$T/src.img" error-pread=EIO error-pread-rate=5%)
"$FERRY" migrate "$flaky" "$T/dst.img" --json --progress none --max-chunk 256K >"$T/out" || die "flaky copy failed"
retries=$(json_field "$T/out" retries)
[ "$retries" -gt 0 ] || die "no retries counted against a flaky source"
cmp "$T/src.img" "$T/dst.img" || die "copy from a flaky source differs"
pass "transient EIO: $retries retries, copy identical"

# Persistent: every read fails while the trigger file exists.
rm -f "$T/dst.img"
broken=$(nbdkit_start broken --filter=error --filter=delay -r file "$T/src.img" \
  delay-read=50ms error-pread=EIO error-pread-rate=100% error-pread-file="$T/trigger")
cmd=("$FERRY" migrate "$broken" "$T/dst.img" --journal "$T/j" --requests 2 --max-chunk 256K --progress none --json)
# The first run also holds a rate, so that its copy (about 38 MiB) takes at least 19 s
# however fast the machine is: the fault must come mid-copy (an ASan run once finished
# the copy before the trigger was touched).
"${cmd[@]}" --rate 2M >"$T/out1" 2>"$T/err1" &
pid=$!
for _ in $(seq 1 100); do
  sleep 0.1
  [ -s "$T/j" ] && "$FERRY" status --json "$T/j" >"$T/st" 2>/dev/null &&
    [ "$(json_field "$T/st" present_bytes)" -gt 0 ] && break
done
kill -0 $pid 2>/dev/null || die "the copy ended before the fault: the test proves nothing"
touch "$T/trigger"
rc=0
wait $pid || rc=$?
[ $rc = 1 ] || die "persistent error: exit $rc, want 1"
grep -q "giving up after 6 attempts.*pread: .*offset=.*Input/output error.*rerun the same command to resume" "$T/err1" ||
  die "persistent error message: $(cat "$T/err1")"
[ "$(wc -l <"$T/err1")" = 1 ] || die "more than one line on stderr: $(cat "$T/err1")"
"$FERRY" status --json "$T/j" >"$T/st"
present=$(json_field "$T/st" present_bytes)
[ "$present" -gt 0 ] || die "journal lost the progress made before the error"
pass "persistent EIO stops after bounded retries; journal keeps $present bytes"

rm -f "$T/trigger"
"${cmd[@]}" >"$T/out2" || die "rerun after the fault cleared failed"
[ "$(json_field "$T/out2" bytes_resumed)" = "$present" ] || die "rerun did not resume from the journal"
cmp "$T/src.img" "$T/dst.img" || die "destination differs after the resumed run"
pass "rerun after the fault resumes and finishes identical"
