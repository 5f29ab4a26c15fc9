#!/usr/bin/env bash
# ferry serve: a live migration exported over NBD, driven by real clients (qemu-io,
# nbdsh, fio, nbdinfo) aimed at each data-safety invariant, with kill -9 at random
# moments and restarts, and source errors injected with nbdkit's error filter.
#
# The model: $T/expected.img starts as the source and takes every write a client had
# acknowledged (and flushed, before a kill); at the end the destination must equal it.
source "$(dirname "$0")/lib/common.bash"
need qemu-io nbdinfo nbdsh fio

# nbdsh runs Debian's python3, which has the nbd module (a python3 earlier on PATH may not).
nbdsh_() { PATH=/usr/bin:$PATH nbdsh "$@"; }
patch() {  # OFF LEN BYTE: the model takes a write of LEN bytes of BYTE at OFF
  python3 - "$T/expected.img" "$@" <<'PY'
import sys
path, off, n, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 0)
with open(path, "r+b") as f:
    f.seek(off); f.write(bytes([b]) * n)
PY
}
# check_read OFF LEN: the export returns exactly the model's bytes there.
check_read() {
  nbdsh_ -u "$LIVE" -c - <<PY || die "read of $2 bytes at $1 differs from the model"
import sys
want = open("$T/expected.img", "rb").read()[$1:$1 + $2]
got = h.pread($2, $1)
sys.exit(0 if got == want else 1)
PY
}
serve_start() {  # ARGS...: ferry serve on $T/live.sock, in the background; SERVE_PID
  rm -f "$T/live.sock"
  "$FERRY" serve "$SLOW" "$T/dst.img" --journal "$T/j" --socket "$T/live.sock" "$@" 2>>"$T/serve.log" &
  SERVE_PID=$!
  wait_export "$LIVE" $SERVE_PID "$T/serve.log"
}
serve_kill() {  # kill -9 the server (nbdkit, ferry serve's child); ferry serve then exits
  pkill -KILL -P $SERVE_PID nbdkit 2>/dev/null || true
  wait $SERVE_PID 2>/dev/null || true
}
present() { json_field <("$FERRY" status --json "$T/j") present_bytes; }

MiB=$((1 << 20))
make_image "$T/src.img" 256M 5 70
cp "$T/src.img" "$T/expected.img"
sum_src=$(sum_of "$T/src.img")
SLOW=$(nbdkit_start slow -r --filter=delay file "$T/src.img" delay-read=2ms)
LIVE="nbd+unix:///?socket=$T/live.sock"

# 1. Invariants 2 and 4 and the discard hint, with the background copy held to a crawl.
serve_start --rate 2M
[ "$(nbdinfo --size "$LIVE")" = $((256 * MiB)) ] || die "export size"
check_read 0 4096
check_read $((100 * MiB + 12345)) 300000
qemu-io -f raw -c "write -P 0x5a 70000 1000" "$LIVE" >/dev/null || die "qemu-io write"
patch 70000 1000 0x5a
check_read 65536 65536  # the granule around it: the write, and the source's bytes around it
qemu-io -f raw -c "write -P 0x33 $((40 * MiB - 5000)) 300000" "$LIVE" >/dev/null || die "qemu-io write 2"
patch $((40 * MiB - 5000)) 300000 0x33
qemu-io -f raw -c "discard $((8 * MiB)) $((2 * MiB))" "$LIVE" >/dev/null || die "qemu-io discard"
patch $((8 * MiB)) $((2 * MiB)) 0
qemu-io -f raw -c "write -z $((20 * MiB + 4096)) 100000" "$LIVE" >/dev/null || die "qemu-io write -z"
patch $((20 * MiB + 4096)) 100000 0
check_read $((8 * MiB - 4096)) $((2 * MiB + 8192))
check_read $((20 * MiB)) $((1 * MiB))
check_read $((40 * MiB - 10000)) 400000
"$FERRY" status "$T/j" | grep "^live: .*present" >/dev/null || die "ferry status shows no live progress: $("$FERRY" status "$T/j")"
# The partial writes waited for their granules: status shows how long (rewritten each second).
for _ in $(seq 1 30); do "$FERRY" status "$T/j" | grep "^write latency: .*of the writes that waited" >/dev/null && break; sleep 0.1; done
"$FERRY" status "$T/j" | grep "^write latency: .*of the writes that waited" >/dev/null ||
  die "ferry status shows no latency of the writes that waited: $("$FERRY" status "$T/j")"
pass "reads follow the model; partial writes, discards and zeroes of missing granules"

# Control while running: pause holds the background copy, resume and rate move it on.
[ "$("$FERRY" control "$T/j" pause)" = paused ] || die "control pause"
p1=$(json_field <("$FERRY" control "$T/j" status) present_bytes)
sleep 0.5
p2=$(json_field <("$FERRY" control "$T/j" status) present_bytes)
[ "$p1" = "$p2" ] || die "paused, yet the copy moved from $p1 to $p2"
[ "$(json_field <("$FERRY" control "$T/j" status) paused)" = True ] || die "status does not say paused"
check_read $((180 * MiB)) 4096  # served on demand while paused
"$FERRY" control "$T/j" resume >/dev/null || die "control resume"
[ "$("$FERRY" control "$T/j" rate 4M)" = "rate 4.00 MiB/s" ] || die "control rate: $("$FERRY" control "$T/j" rate 4M)"
sleep 0.5
p3=$(json_field <("$FERRY" control "$T/j" status) present_bytes)
[ "$p3" -gt "$p2" ] || die "resumed, yet the copy did not move ($p2 -> $p3)"
expect_exit 2 "rate needs a SIZE" "$FERRY" control "$T/j" rate
expect_exit 2 "invalid rate 'fast'|rate" "$FERRY" control "$T/j" rate fast
expect_exit 1 "no ferry serve is running for this journal" "$FERRY" control "$T/nothere" pause
pass "control: pause, resume, rate, status"

# 2. fio random writes with verify through the export, racing the background copy
# (invariant 3), in a region of its own; checked again on the destination at the end.
fio_job=(--name=v --ioengine=nbd --uri="$LIVE" --rw=randwrite --bs=4k --iodepth=8 --offset=128M --size=16M
  --verify=crc32c --do_verify=1 --randseed=7 --output="$T/fio.out")
fio "${fio_job[@]}" || die "fio verify through the export failed: $(tail -5 "$T/fio.out")"
pass "fio randwrite + verify through the export while it migrates"

# 3. Flush, then kill -9, 20 times at random moments; each restart continues. The
# background copy is held to 1 MiB/s through the kills, so they land mid-migration on
# any machine: the 20 runs would have to serve for over 200 s to finish it.
"$FERRY" control "$T/j" rate 1M >/dev/null || die "control rate before the kills"
last=0
for i in $(seq 1 20); do
  [ "$i" = 1 ] || serve_start --rate 1M
  off=$(( (RANDOM * 32768 + RANDOM) % (120 * MiB) ))  # below fio's region
  len=$(( 1 + RANDOM % 200000 ))
  byte=$(( 1 + i ))
  qemu-io -f raw -c "write -P $byte $off $len" -c flush "$LIVE" >/dev/null || die "write before kill $i"
  patch $off $len $byte
  sleep "0.$(( RANDOM % 5 ))"
  serve_kill
  now=$(present)
  [ "$now" -ge "$last" ] || die "kill $i: the journal went back from $last to $now bytes"
  last=$now
done
[ "$last" -gt 0 ] || die "nothing was committed in 20 runs"
# A kill -9 of ferry serve itself takes its nbdkit along (nothing serves a journal
# that no ferry serve owns).
serve_start --rate 1M
child=$(pgrep -P $SERVE_PID nbdkit) || die "ferry serve runs no nbdkit child"
kill -9 $SERVE_PID
wait $SERVE_PID 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$child" 2>/dev/null || die "nbdkit $child outlived a kill -9 of ferry serve"
now=$(present)
[ "$now" -ge "$last" ] || die "kill of ferry serve: the journal went back from $last to $now bytes"
last=$now
[ "$last" -lt $((256 * MiB)) ] || die "the migration finished before the kills: the test proves nothing"
pass "20 kill -9 after flushed writes; each restart continued ($last bytes present at the last kill)"

# 3b. nbdkit crashing while serving a socket (nbdkit 1.32 fails an assertion when a
# client disconnects with requests in flight) is restarted by ferry serve, and the
# migration goes on from the journal.
serve_start --rate 8M --record "$T/rec.log"
before=$(present)
pkill -ABRT -P $SERVE_PID nbdkit || die "no nbdkit to crash"
for _ in $(seq 1 200); do
  grep -q "restarting it, the migration continues from the journal" "$T/serve.log" && nbdinfo --size "$LIVE" >/dev/null 2>&1 && break
  sleep 0.05
done
grep -q "nbdkit died on signal 6 (Aborted); restarting it" "$T/serve.log" || die "ferry serve did not restart a crashed nbdkit: $(tail -3 "$T/serve.log")"
check_read $((60 * MiB)) 300000
[ "$(present)" -ge "$before" ] || die "the restarted server went back"
kill -0 $SERVE_PID || die "ferry serve exited after restarting nbdkit"
grep -q "the recording goes on in $T/rec.log.1" "$T/serve.log" || die "no word of where the recording goes on"
[ "$(head -1 "$T/rec.log")" = "fio version 3 iolog" ] && [ -e "$T/rec.log.1" ] ||
  die "after the restart: the first recording or the second is missing"
serve_kill
pass "a crashed nbdkit is restarted and serves the same data, continuing the migration (and its recording)"

# 4. A restart runs to the end. Once complete it serves from the destination alone:
# with the source gone, reads still work. Then SIGTERM: a clean stop with a summary.
# The destination must be the model (fio's region taken from the destination once fio
# verifies it there) and the source untouched.
serve_start
for _ in $(seq 1 600); do
  [ "$(json_field <("$FERRY" status --json "$T/j") state)" = copied ] && break
  sleep 0.1
done
[ "$(json_field <("$FERRY" status --json "$T/j") state)" = copied ] || die "the migration did not finish"
server_stop slow
check_read 0 $((4 * MiB))
check_read $((250 * MiB)) 70000
kill -TERM $SERVE_PID
rc=0
wait $SERVE_PID || rc=$?
[ $rc = 0 ] || die "ferry serve exited $rc on SIGTERM: $(tail -3 "$T/serve.log")"
grep -q "the destination is complete" "$T/serve.log" || die "no summary: $(tail -3 "$T/serve.log")"
fio --name=v --ioengine=psync --filename="$T/dst.img" --rw=randwrite --bs=4k --offset=128M --size=16M \
  --verify=crc32c --verify_only --randseed=7 --output="$T/fio2.out" || die "fio's writes are not on the destination"
dd if="$T/dst.img" of="$T/expected.img" bs=1M skip=128 seek=128 count=16 conv=notrunc status=none
qemu-img compare -q -f raw -F raw "$T/dst.img" "$T/expected.img" || die "destination differs from the model"
[ "$(sum_of "$T/src.img")" = "$sum_src" ] || die "the source was written"
pass "restart finished: destination = model, served with the source gone, source untouched"

# 5. --exit-when-done: a fresh migration with nothing else to do ends by itself.
SLOW=$(nbdkit_start slow -r --filter=delay file "$T/src.img" delay-read=2ms)
rm -f "$T/dst.img" "$T/j" "$T/j.live"
serve_start --exit-when-done --report "$T/done.html"
rc=0
wait $SERVE_PID || rc=$?
[ $rc = 0 ] || die "ferry serve --exit-when-done exited $rc: $(tail -3 "$T/serve.log")"
cmp "$T/src.img" "$T/dst.img" || die "--exit-when-done: destination differs"
grep -q "^ferry: report $T/done.html" "$T/serve.log" || die "ferry serve did not name its report"
grep -q "Migration complete" "$T/done.html" || die "the report does not say the migration completed"
grep -q "Copies (bytes made present) by offset and time" "$T/done.html" || die "the report has no copy map"
server_stop slow
pass "--exit-when-done ends once the destination is complete; --report written"

# 6. Source errors (nbdkit's error filter): retried, then EIO to the client, never wrong
# data; once the source answers again, so does the export.
SLOW=$(nbdkit_start flaky -r --filter=error --filter=delay file "$T/src.img" delay-read=2ms \
  error=EIO error-pread-rate=100% error-file="$T/trigger")
rm -f "$T/dst.img" "$T/j" "$T/j.live"
cp "$T/src.img" "$T/expected.img"
serve_start --rate 1M --report "$T/abort.html"
touch "$T/trigger"
nbdsh_ -u "$LIVE" -c - <<PY || die "a failing source did not give EIO"
import errno, sys
try:
    h.pread(4096, $((200 * MiB)))
except nbd.Error as e:
    sys.exit(0 if e.errnum == errno.EIO else 1)
sys.exit(1)
PY
rm -f "$T/trigger"
check_read $((200 * MiB)) 4096
sleep 1.2  # the live status file is rewritten every second
"$FERRY" status "$T/j" | grep "reads failed on the source" >/dev/null || die "status does not show the failed reads: $("$FERRY" status "$T/j")"
pass "source errors: EIO after retries, then the right data"

# Abort from the command line: serving stops, the journal keeps what was done and a
# restart continues (the destination is checked at the end of the run below).
"$FERRY" control "$T/j" abort >/dev/null || die "control abort"
rc=0
wait $SERVE_PID || rc=$?
[ $rc = 0 ] || die "ferry serve exited $rc after abort"
[ "$(json_field <("$FERRY" status --json "$T/j") activity)" = interrupted ] || die "after abort the journal is not resumable"
grep -q "Stopped before the end" "$T/abort.html" || die "the report of an aborted run does not say so"
grep -q "Request latency CDF" "$T/abort.html" || die "the report of a run with reads has no latency CDF"
pass "control abort stops serving and leaves the migration resumable"

# 7. --run (captive mode) and usage errors.
out=$("$FERRY" serve "$SLOW" "$T/dst.img" --journal "$T/j" --run 'nbdinfo --size "$uri"' 2>>"$T/serve.log")
[ "$out" = $((256 * MiB)) ] || die "--run: $out"
expect_exit 2 "give --socket PATH, --listen HOST:PORT, or --run CMD" "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2"
expect_exit 2 "give --socket or --listen, not both" \
  "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --socket "$T/x.sock" --listen 127.0.0.1:1
expect_exit 2 "--listen 'nope': give HOST:PORT" "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --listen nope
expect_exit 2 "unknown policy 'fast'" "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --socket "$T/x.sock" --policy fast
expect_exit 2 "invalid --latency-target 'soon'" \
  "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --socket "$T/x.sock" --latency-target soon
expect_exit 2 "invalid --min-rate 'lots'" \
  "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --socket "$T/x.sock" --min-rate lots
expect_exit 1 "journal .* belongs to another migration" \
  "$FERRY" serve "$SLOW" "$T/other.img" --journal "$T/j" --socket "$T/x.sock"
expect_exit 1 "report=.*: cannot write in $T/nodir/" \
  "$FERRY" serve "$SLOW" "$T/d.img" --journal "$T/j2" --socket "$T/x.sock" --report "$T/nodir/r.html"
[ ! -e "$T/d.img" ] || die "a refused serve created the destination"
pass "--run serves a captive command; bad flags and a foreign journal refused with one line"
