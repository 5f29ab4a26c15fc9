# Shared helpers for the integration tests (sourced, not run).
# Each test gets a fresh directory $T, removed with every server it started on exit.
# A missing tool fails the test loudly: scripts/setup installs them all.
set -euo pipefail
# With pipefail, `cmd | grep -q X` fails when grep quits at its match before cmd has
# written everything (cmd dies of SIGPIPE): the tests write `cmd | grep X >/dev/null`.

FERRY=${FERRY:?set FERRY to the ferry binary (ctest does)}
T=$(mktemp -d /var/tmp/ferry-it.XXXXXX)
_pids=()
_on_exit=()  # extra cleanup commands, run first
_cleanup() {
  local p c
  for c in "${_on_exit[@]}"; do eval "$c" || true; done
  for p in "${_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$T"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$T"
}
trap _cleanup EXIT

die() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
need() { for t in "$@"; do command -v "$t" >/dev/null || die "$t is not installed (run scripts/setup)"; done; }
need nbdkit nbdcopy qemu-img python3

# make_image PATH SIZE [SEED] [PERCENT]: random data with holes.
make_image() {
  nbdkit -U - sparse-random "$2" seed="${3:-1}" percent="${4:-50}" --run "nbdcopy \"\$uri\" $1"
}

# nbdkit_start NAME PLUGIN-AND-ARGS...: serves on $T/NAME.sock; sets URI_NAME... prints the URI.
nbdkit_start() {
  local name=$1; shift
  nbdkit -U "$T/$name.sock" -P "$T/$name.pid" "$@" || die "nbdkit $* failed to start"
  echo "nbd+unix:///?socket=$T/$name.sock"
}

# qemu_nbd_start NAME ARGS...: qemu-nbd on $T/NAME.sock; prints the URI.
qemu_nbd_start() {
  local name=$1; shift
  need qemu-nbd
  qemu-nbd --fork --pid-file "$T/$name.pid" -k "$T/$name.sock" "$@" || die "qemu-nbd $* failed to start"
  echo "nbd+unix:///?socket=$T/$name.sock"
}

# wait_export URI PID LOG: waits until the NBD server PID (ferry serve, ferry watch)
# answers on URI; dies with LOG's tail if it exits or takes 20 s. The socket's file
# appears when it is bound, before the server listens, so that is not enough.
wait_export() {
  for _ in $(seq 1 400); do
    nbdinfo --size "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || die "the server exited: $(tail -3 "$3")"
    sleep 0.05
  done
  die "the server did not answer on $1 in 20 s: $(tail -3 "$3")"
}

server_stop() {  # NAME
  local p
  p=$(cat "$T/$1.pid")
  kill "$p"
  while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
  rm -f "$T/$1.pid" "$T/$1.sock"
}

# expect_exit CODE PATTERN CMD...: CMD must exit with CODE and print exactly one line
# on stderr that contains PATTERN (a grep -E pattern).
expect_exit() {
  local code=$1 pattern=$2; shift 2
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || die "$* exited $rc, want $code; stderr: $(cat "$T/err")"
  [ "$(wc -l <"$T/err")" = 1 ] || die "$* printed $(wc -l <"$T/err") lines on stderr, want one: $(cat "$T/err")"
  grep -qE -- "$pattern" "$T/err" || die "$* stderr lacks /$pattern/: $(cat "$T/err")"
}

json_field() {  # FILE FIELD
  python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])" "$1" "$2"
}

sum_of() { sha256sum "$1" | cut -d' ' -f1; }

# After kill -9 of ferry serve: its nbdkit dies with it (PR_SET_PDEATHSIG) but may take
# a moment (a sanitizer, a loaded machine); until it has, the journal is still locked
# and a new serve refuses it. Waits (10 s at most) until no process names SOCKET.
wait_server_gone() {  # SOCKET
  for _ in $(seq 1 200); do pgrep -f -- "$1" >/dev/null || return 0; sleep 0.05; done
}
