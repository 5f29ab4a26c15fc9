#!/usr/bin/env bash
# ferry serve --metrics FILE: the live figures in Prometheus text format, rewritten
# atomically every second while it runs and once more when it stops, parsed here by the
# Prometheus project's own Python parser (prometheus_client).
source "$(dirname "$0")/lib/common.bash"
need nbdsh
# Debian's python3 (where apt installs the parser), not one earlier in PATH.
sys_python3() { PATH=/usr/bin:$PATH python3 "$@"; }
sys_python3 -c "import prometheus_client" 2>/dev/null || die "python3-prometheus-client is not installed (run scripts/setup)"

make_image "$T/src.img" 64M 5 90
SRC=$(nbdkit_start src -r --filter=rate file "$T/src.img" rate=40M)  # ~10 s for 64 MiB (the first 2 s of the rate are a burst)

# check.py FILE JOURNAL SIZE COMPLETE: parses FILE, checks it, prints ferry_present_bytes.
cat >"$T/check.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
journal, size, want_complete = sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1"
samples = {}
for fam in text_string_to_metric_families(text):
    assert fam.name.startswith("ferry_"), fam.name
    assert fam.documentation, f"{fam.name} has no HELP"
    for s in fam.samples:
        assert s.labels.get("journal") == journal, s
        samples[(s.name, s.labels.get("quantile"))] = s.value
get = lambda n, q=None: samples[(n, q)]
assert get("ferry_volume_bytes") == size, get("ferry_volume_bytes")
assert 0 <= get("ferry_present_bytes") <= size
assert get("ferry_complete") == (1 if want_complete else 0), get("ferry_complete")
assert get("ferry_reads_total") >= 1
assert get("ferry_read_latency_seconds", "0.99") >= get("ferry_read_latency_seconds", "0.5") > 0
assert get("ferry_source_up") == 1
assert get("ferry_link_delivery_rate_bytes_per_second") > 0
print(int(get("ferry_present_bytes")))
PY

J="$T/j"
LIVE="nbd+unix:///?socket=$T/live.sock"
"$FERRY" serve "$SRC" "$T/dst.img" --journal "$J" --socket "$T/live.sock" --metrics "$T/ferry.prom" \
  --exit-when-done 2>"$T/serve.log" &
serve=$!
_pids+=($serve)
for _ in $(seq 1 200); do nbdinfo --size "$LIVE" >/dev/null 2>&1 && break; sleep 0.05; done
PATH=/usr/bin:$PATH nbdsh -u "$LIVE" -c "h.pread(4096, 20 << 20)" || die "read through the export"
sleep 2.2  # the file is rewritten every second
first=$(sys_python3 "$T/check.py" "$T/ferry.prom" "$J" $((64 << 20)) 0) || die "metrics while migrating: $(cat "$T/ferry.prom")"
sleep 1.5
second=$(sys_python3 "$T/check.py" "$T/ferry.prom" "$J" $((64 << 20)) 0) ||
  die "metrics while migrating (2): $(cat "$T/ferry.prom")"
[ "$second" -gt "$first" ] || die "ferry_present_bytes did not grow between two rewrites ($first, then $second)"
[ ! -e "$T/ferry.prom.tmp" ] || [ -s "$T/ferry.prom" ] || die "only a temporary metrics file"
wait $serve || die "ferry serve failed: $(tail -3 "$T/serve.log")"
sys_python3 "$T/check.py" "$T/ferry.prom" "$J" $((64 << 20)) 1 >/dev/null || die "final metrics: $(cat "$T/ferry.prom")"
cmp "$T/src.img" "$T/dst.img" || die "migrated copy differs"
pass "serve --metrics: Prometheus text parsed by prometheus_client, present bytes growing ($first, then $second), complete at the end"

expect_exit 1 "metrics=.*cannot write in $T/nodir/.*writable directory" \
  "$FERRY" serve "$SRC" "$T/dst2.img" --journal "$T/j2" --socket "$T/l2.sock" --metrics "$T/nodir/m.prom"
pass "serve --metrics in a missing directory: one line naming it"
