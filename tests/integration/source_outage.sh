#!/usr/bin/env bash
# Source outages (DESIGN.md "Faults"): the source's nbdkit is stopped and started again
# on the same socket, or hangs (SIGSTOP) with its connection open, while ferry copies.
# - bulk: an outage shorter than --source-timeout costs time only: the copy reconnects
#   and ends identical; a longer one stops the run with one line naming the source and
#   the journal intact, and the rerun resumes;
# - live: during the outage present data is served, a read of missing data waits up to
#   --source-timeout and then fails (never wrong data), and once the source is back the
#   migration completes by itself.
source "$(dirname "$0")/lib/common.bash"
need nbdsh nbdinfo

nbdsh_() { PATH=/usr/bin:$PATH nbdsh "$@"; }
make_image "$T/src.img" 64M 17 80
# The remote-like source: 2 ms, 40 Mbit/s (64 MiB take ~13 s), on a fixed socket.
src_start() {
  rm -f "$T/src.sock"
  nbdkit -U "$T/src.sock" -P "$T/src.pid" -r --filter=delay --filter=rate file "$T/src.img" \
    rdelay=2ms rate=40M || die "source nbdkit failed to start"
}
# A crash: SIGKILL (a SIGTERMed nbdkit first finishes the requests the rate filter holds,
# seconds of them, while it accepts connections it never serves).
src_stop() {
  local p
  p=$(cat "$T/src.pid")
  kill -KILL "$p" 2>/dev/null || true  # it may have died already
  while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
  rm -f "$T/src.pid" "$T/src.sock"
}
SRC="nbd+unix:///?socket=$T/src.sock"
wait_present() {  # JOURNAL BYTES: until the journal records at least BYTES present
  for _ in $(seq 1 300); do
    [ -s "$1" ] && [ "$(json_field <("$FERRY" status --json "$1") present_bytes)" -ge "$2" ] && return 0
    sleep 0.1
  done
  die "the copy did not reach $2 bytes"
}

# 1. Bulk, a 3 s outage inside a 10 s timeout: the copy waits, reconnects, finishes.
src_start
"$FERRY" migrate "$SRC" "$T/dst.img" --journal "$T/j1" --source-timeout 10s --progress none --json \
  >"$T/out1" 2>"$T/err1" &
pid=$!
wait_present "$T/j1" $((4 << 20))
src_stop
sleep 3
src_start
wait $pid || die "bulk copy across a 3 s outage failed: $(cat "$T/err1")"
cmp "$T/src.img" "$T/dst.img" || die "bulk copy across an outage differs"
[ "$(json_field "$T/out1" source_outages)" -ge 1 ] || die "the summary does not count the outage"
pass "bulk: a 3 s source outage is waited out, the copy is identical ($(json_field "$T/out1" retries) retries, $(json_field "$T/out1" source_down_seconds) s without the source)"

# 2. Bulk, an outage longer than the timeout: one line, the journal keeps the progress,
#    the rerun resumes and finishes identical.
rm -f "$T/dst.img"
cmd=("$FERRY" migrate "$SRC" "$T/dst.img" --journal "$T/j2" --source-timeout 2s --progress none --json)
"${cmd[@]}" >"$T/out2" 2>"$T/err2" &
pid=$!
wait_present "$T/j2" $((4 << 20))
src_stop
rc=0
wait $pid || rc=$?
[ $rc = 1 ] || die "outage past the timeout: exit $rc, want 1"
[ "$(wc -l <"$T/err2")" = 1 ] || die "more than one line on stderr: $(cat "$T/err2")"
grep -q "source nbd+unix.*unreachable for more than 2 s.*rerun the same command to resume" "$T/err2" ||
  die "outage message: $(cat "$T/err2")"
kept=$(json_field <("$FERRY" status --json "$T/j2") present_bytes)
[ "$kept" -gt 0 ] || die "the journal lost the progress made before the outage"
src_start
# The rerun (the same command but for a longer timeout, which the resume ignores) is
# not about outages: with 2 s a connection whose replies waited behind the others' at
# the rate filter was once taken for a hung server (docs/status.md, issue 13).
"${cmd[@]/#2s/10s}" >"$T/out2b" 2>"$T/err2b" || die "rerun after the outage failed: $(cat "$T/err2b")"
[ "$(json_field "$T/out2b" bytes_resumed)" = "$kept" ] || die "rerun did not resume from the journal"
cmp "$T/src.img" "$T/dst.img" || die "resumed copy differs"
pass "bulk: an outage past --source-timeout stops with one line; the rerun resumes $kept bytes, identical"

# 3. Bulk, a source that hangs with its connection open (SIGSTOP): with no reply byte
#    for --source-timeout the connection is taken for lost; reconnecting to a stopped
#    server gets no handshake, so the run stops a timeout later (not when the server
#    wakes up), and the rerun resumes once the hung server is restarted, as an operator
#    would. (It is restarted rather than only woken: nbdkit 1.32.5 may abort, at any
#    moment after SIGCONT, when it replies to a connection that was closed with
#    requests in flight, its assertion `sock >= 0', tests/repro/nbdkit_disconnect_abort.sh.)
rm -f "$T/dst.img"
cmd=("$FERRY" migrate "$SRC" "$T/dst.img" --journal "$T/j3" --source-timeout 3s --progress none --json)
"${cmd[@]}" >"$T/out3" 2>"$T/err3" &
pid=$!
wait_present "$T/j3" $((4 << 20))
kill -STOP "$(cat "$T/src.pid")"
_on_exit+=("kill -CONT $(cat "$T/src.pid")")
stopped_pid=$(cat "$T/src.pid")
# Without detection the run would end only at this wake-up. Its output goes nowhere: a
# sleep left behind by the kill at exit would otherwise hold ctest's pipe open.
(sleep 45; kill -CONT "$stopped_pid" 2>/dev/null) >/dev/null 2>&1 &
_pids+=($!)
t0=$(date +%s)
rc=0
wait $pid || rc=$?
waited=$(($(date +%s) - t0))
kill -CONT "$(cat "$T/src.pid")"
[ $rc = 1 ] || die "hung source: exit $rc, want 1 ($(cat "$T/err3"))"
# 9 s alone here, 15 s once beside another test on this 2-core machine; without the
# detection the run ends only when the server wakes at 45 s (the margin is for a loaded
# CI machine under a sanitizer: a pass costs no more time for it).
[ $waited -le 35 ] || die "a hung source held the copy for $waited s with --source-timeout 3s"
grep -q "unreachable for more than 3 s" "$T/err3" || die "hung source message: $(cat "$T/err3")"
src_stop
src_start
"${cmd[@]}" >"$T/out3b" 2>"$T/err3b" || die "rerun after the hang failed: $(cat "$T/err3b")"
cmp "$T/src.img" "$T/dst.img" || die "copy resumed after a hang differs"
pass "bulk: a hung source is detected and the run stops after $waited s (timeout 3 s); the rerun finishes identical"

# 4. Live: ferry serve while the source is away.
rm -f "$T/dst.img" "$T/live.sock"
LIVE="nbd+unix:///?socket=$T/live.sock"
"$FERRY" serve "$SRC" "$T/dst.img" --journal "$T/j4" --socket "$T/live.sock" --source-timeout 3s \
  --exit-when-done --report "$T/r4.html" 2>"$T/serve.log" &
serve=$!
for _ in $(seq 1 200); do nbdinfo --size "$LIVE" >/dev/null 2>&1 && break; sleep 0.05; done
# Read the first MiB through the export: it is present from then on.
nbdsh_ -u "$LIVE" -c "h.pread(1 << 20, 0)" || die "first read through the export"
stopped=$(date +%s.%N)
src_stop
# Present data is served; a read of missing data waits until 3 s after the loss and
# fails, never with wrong bytes.
nbdsh_ -u "$LIVE" -c - <<PY || die "reads during the outage"
import sys, time
want = open("$T/src.img", "rb").read()
got = h.pread(1 << 20, 0)
assert got == want[:1 << 20], "present data differs during the outage"
try:
    got = h.pread(4096, (60 << 20) + 8192)
    assert got == want[(60 << 20) + 8192:(60 << 20) + 12288], "a missing read returned wrong data"
    sys.exit("a read of missing data succeeded while the source was down")
except nbd.Error as e:
    waited = time.time() - $stopped
    assert 2.9 <= waited <= 15, f"the read failed {waited:.1f} s after the source was lost, want about 3"
PY
"$FERRY" status "$T/j4" >"$T/st4" || die "status during the outage"
grep -q "^source: *LOST .* reconnecting" "$T/st4" || die "status during the outage does not say the source is lost: $(cat "$T/st4")"
src_start
wait $serve || die "ferry serve did not complete after the source came back: $(tail -3 "$T/serve.log")"
grep -q "the source was lost [0-9]* times" "$T/serve.log" || die "the summary does not tell of the outage: $(tail -2 "$T/serve.log")"
cmp "$T/src.img" "$T/dst.img" || die "live migration across an outage differs"
grep -q "source lost, 1</td><td>at [0-9.]* s for [0-9.]* s<" "$T/r4.html" || die "the report does not say when the source was lost"
pass "live: present data served and missing reads failed after the timeout during the outage; completed after it"
