#!/usr/bin/env bash
# No exception crosses into nbdkit (DESIGN.md "Faults"): a plugin callback that throws
# answers EIO with a message naming the callback, and the server, the migration and
# the other requests go on. FERRY_FAULT_THROW=NAME makes the callback NAME throw.
source "$(dirname "$0")/lib/common.bash"
need nbdsh nbdinfo qemu-io
if [ "${FERRY_SANITIZER:-none}" = address ]; then
  # Under ASan any C++ throw in a plugin that nbdkit (a C program) dlopens with the
  # runtime preloaded aborts in ASan itself: its __cxa_throw interceptor never found
  # libstdc++'s ("CHECK failed: asan_interceptors.cpp:320 real___cxa_throw != 0").
  # The guard is tested in the normal and TSan builds.
  echo "skipped under ASan: a throw in an nbdkit plugin aborts in ASan's interceptor"
  exit 77
fi

nbdsh_() { PATH=/usr/bin:$PATH nbdsh "$@"; }
make_image "$T/src.img" 16M 23 90
LIVE="nbd+unix:///?socket=$T/live.sock"

serve_with_throw() {  # CALLBACK: ferry serve whose CALLBACK throws; SERVE_PID
  rm -f "$T/live.sock" "$T/dst.img" "$T/j"*
  FERRY_FAULT_THROW=$1 "$FERRY" serve "$T/src.img" "$T/dst.img" --journal "$T/j" --socket "$T/live.sock" \
    --rate 1M 2>"$T/serve.log" &
  SERVE_PID=$!
  _pids+=($SERVE_PID)
  wait_export "$LIVE" $SERVE_PID "$T/serve.log"
}
serve_stop() {
  "$FERRY" control "$T/j" abort >/dev/null || die "control abort"
  wait $SERVE_PID || true
}

for cb in pread pwrite flush extents; do
  serve_with_throw $cb
  case $cb in
    pread) probe=(nbdsh_ -u "$LIVE" -c "h.pread(4096, 0)") ;;
    pwrite) probe=(qemu-io -f raw -c "write -P 0x11 0 4096" "$LIVE") ;;
    flush) probe=(qemu-io -f raw -c "flush" "$LIVE") ;;
    extents) probe=(nbdsh_ --base-allocation -u "$LIVE" -c "h.block_status(4096, 0, lambda *a: 0)") ;;
  esac
  if "${probe[@]}" >"$T/probe.out" 2>&1 && ! grep -q "error\|Error" "$T/probe.out"; then
    die "$cb: the request succeeded though its callback threw"
  fi
  grep -q "$cb: unexpected exception: thrown on purpose" "$T/serve.log" ||
    die "$cb: no message naming the callback: $(tail -3 "$T/serve.log")"
  kill -0 $SERVE_PID 2>/dev/null || die "$cb: the server died when its callback threw"
  # The server and the other callbacks still work.
  [ "$(nbdinfo --size "$LIVE")" = $((16 << 20)) ] || die "$cb: the export is gone after the throw"
  if [ $cb != pread ]; then
    nbdsh_ -u "$LIVE" -c - <<PY || die "$cb: a read after the throw differs"
import sys
want = open("$T/src.img", "rb").read()[(8 << 20):(8 << 20) + 65536]
sys.exit(0 if h.pread(65536, 8 << 20) == want else 1)
PY
  fi
  serve_stop
  pass "$cb: the throw became an error for that request; the server went on"
done
