#!/usr/bin/env bash
# A destination that fills up (DESIGN.md "Faults"): nbdkit's error filter makes every
# write and zero of the destination fail with ENOSPC while the file $T/full exists.
# - live: the request that hits it gets ENOSPC; the background copy pauses and
#   `ferry status` says why and what to do; nothing moves until `ferry control J resume`
#   after room is made; then the migration completes, identical;
# - bulk: the run stops with one line, the journal keeps its progress, and the rerun
#   once there is room resumes and ends identical.
source "$(dirname "$0")/lib/common.bash"
need nbdsh

nbdsh_() { PATH=/usr/bin:$PATH nbdsh "$@"; }
make_image "$T/src.img" 32M 9 90
SRC=$(nbdkit_start src -r --filter=rate file "$T/src.img" rate=40M)  # ~7 s for 32 MiB
dst_start() {  # NAME: a fresh 32 MiB destination file behind the error filter
  rm -f "$T/$1.img"
  truncate -s 32M "$T/$1.img"
  nbdkit_start "$1" --filter=error file "$T/$1.img" \
    error-pwrite=ENOSPC error-pwrite-rate=1 error-pwrite-file="$T/full" \
    error-zero=ENOSPC error-zero-rate=1 error-zero-file="$T/full" \
    error-trim=ENOSPC error-trim-rate=1 error-trim-file="$T/full"
}
status_field() { json_field <("$FERRY" status --json "$1") "$2"; }
wait_for() {  # SECONDS CMD...: until CMD succeeds
  local n=$(($1 * 10)); shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
present_at_least() { [ -s "$1" ] && [ "$(status_field "$1" present_bytes)" -ge "$2" ]; }
is_paused() { [ -s "$1.live" ] && [ "$(json_field "$1.live" paused)" = True ]; }

# 1. Live.
DST=$(dst_start dst)
J="$T/j"
LIVE="nbd+unix:///?socket=$T/live.sock"
# Held to --rate 2M (at least 16 s for the volume) until the destination has filled, so
# the fault comes mid-copy however fast the machine is (a CI run under load once
# finished the copy first); the operator lifts the rate when resuming.
"$FERRY" serve "$SRC" "$DST" --journal "$J" --socket "$T/live.sock" --exit-when-done --rate 2M 2>"$T/serve.log" &
serve=$!
_pids+=($serve)
wait_for 30 present_at_least "$J" $((4 << 20)) || die "the copy did not start"
[ "$(status_field "$J" present_bytes)" -lt $((32 << 20)) ] || die "the copy ended before the fault: the test proves nothing"
touch "$T/full"
wait_for 10 is_paused "$J" || die "a full destination did not pause the copy: $("$FERRY" status "$J")"
"$FERRY" status "$J" >"$T/st" || die "status while paused"
grep -q "paused: the destination failed: .*No space left on device.*make room on it, then resume with: ferry control $J resume" "$T/st" ||
  die "status does not say why the copy paused: $(cat "$T/st")"
# The application's write gets ENOSPC; its reads of present and missing data are answered.
nbdsh_ -u "$LIVE" -c - <<PY || die "requests while the destination is full"
import errno
want = open("$T/src.img", "rb").read()
try:
    h.pwrite(b"x" * 65536, 30 << 20)
    raise SystemExit("a write to a full destination succeeded")
except nbd.Error as e:
    assert e.errno in ("ENOSPC", errno.ENOSPC), f"write failed with {e.errno}, want ENOSPC"
assert h.pread(4096, 8192) == want[8192:12288], "present data differs"
assert h.pread(4096, (31 << 20) + 4096) == want[(31 << 20) + 4096:(31 << 20) + 8192], "missing data differs"
PY
# Granules that landed before the fault are committed within a second of it (DESIGN.md
# invariant 5), which raises present_bytes once more: take it once it holds still.
kept=$(status_field "$J" present_bytes)
for _ in $(seq 1 20); do
  sleep 1.5
  now=$(status_field "$J" present_bytes)
  [ "$now" = "$kept" ] && break
  kept=$now
done
rm -f "$T/full"  # room is made; the operator has not resumed yet
sleep 2
[ "$(status_field "$J" present_bytes)" = "$kept" ] || die "the copy went on before the operator resumed it"
is_paused "$J" || die "the copy resumed by itself"
"$FERRY" control "$J" rate 0 >/dev/null || die "ferry control rate 0"
"$FERRY" control "$J" resume >/dev/null || die "ferry control resume"
wait $serve || die "ferry serve did not complete after resume: $(tail -3 "$T/serve.log")"
grep -q "a destination error paused the copy 1 times" "$T/serve.log" || die "the summary does not tell of the pause: $(tail -2 "$T/serve.log")"
cmp "$T/src.img" "$T/dst.img" || die "live migration across a full destination differs"
pass "live: a full destination paused the copy (status said why), the write got ENOSPC, reads were answered; resumed by the operator, identical"

# 2. Bulk.
server_stop dst
DST=$(dst_start dst2)
cmd=("$FERRY" migrate "$SRC" "$DST" --journal "$T/j2" --progress none --json)
"${cmd[@]}" --rate 2M >"$T/out2" 2>"$T/err2" &  # held, as above
pid=$!
wait_for 30 present_at_least "$T/j2" $((4 << 20)) || die "the bulk copy did not start"
kill -0 $pid 2>/dev/null || die "the bulk copy ended before the fault: the test proves nothing"
touch "$T/full"
rc=0
wait $pid || rc=$?
[ $rc = 1 ] || die "full destination, bulk: exit $rc, want 1 ($(cat "$T/err2"))"
[ "$(wc -l <"$T/err2")" = 1 ] || die "more than one line on stderr: $(cat "$T/err2")"
grep -q "No space left on device" "$T/err2" || die "bulk message: $(cat "$T/err2")"
kept=$(status_field "$T/j2" present_bytes)
[ "$kept" -gt 0 ] || die "the journal lost the progress made before the destination filled"
rm -f "$T/full"
"${cmd[@]}" >"$T/out2b" 2>"$T/err2b" || die "rerun once there is room failed: $(cat "$T/err2b")"
[ "$(json_field "$T/out2b" bytes_resumed)" = "$kept" ] || die "the rerun did not resume from the journal"
cmp "$T/src.img" "$T/dst2.img" || die "bulk copy across a full destination differs"
pass "bulk: a full destination stops the run with one line ($(cat "$T/err2")); the rerun resumes $kept bytes, identical"
