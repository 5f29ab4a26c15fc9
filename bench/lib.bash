# Shared by the bench/*.sh scripts, sourced after their options are parsed:
#   bench_prepare NAME TOOL...   sets $top (the project), $ferry (default build/ferry) and $dir (default a
#   fresh directory under /var/tmp), and checks that ferry is built and the tools exist.
bench_prepare() {
  local name=$1 t
  shift
  top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  ferry=${ferry:-$top/build/ferry}
  [ -x "$ferry" ] || { echo "$name: $ferry not found: build first (scripts/build)" >&2; exit 1; }
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$name: $t is missing: run scripts/setup" >&2; exit 1; }
  done
  dir=${dir:-$(mktemp -d /var/tmp/ferry-bench.XXXXXX)}
  mkdir -p "$dir"
}

# wait_sock PATH: until the Unix socket PATH exists (20 s at most, then the script stops).
wait_sock() {
  for _ in $(seq 1 400); do [ -S "$1" ] && return 0; sleep 0.05; done
  echo "$(basename "$0"): $1 did not appear" >&2
  exit 1
}
