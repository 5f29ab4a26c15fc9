#!/usr/bin/env bash
# ferry trace info / convert: summaries of the shipped samples, bad input, and a
# converted trace that fio itself replays against a sparse file.
source "$(dirname "$0")/lib/common.bash"
need fio
data=${FERRY_SOURCE_DIR:?}/tests/data

"$FERRY" trace info --json "$data/msr_sample.csv" >"$T/info"
[ "$(json_field "$T/info" records)" = 4 ] || die "msr sample: wrong record count"
[ "$(json_field "$T/info" reads)" = 2 ] || die "msr sample: wrong read count"
gzip -c "$data/blkparse_sample.txt" >"$T/b.txt.gz"
"$FERRY" trace info --json "$T/b.txt.gz" >"$T/info"
[ "$(json_field "$T/info" records)" = 3 ] || die "gzip blkparse sample: wrong record count"
"$FERRY" trace info --json --dev $(((8 << 20) | 32)) "$T/b.txt.gz" >"$T/info"
[ "$(json_field "$T/info" records)" = 1 ] || die "--dev did not select one device"
pass "trace info: samples, gzip, --dev"

expect_exit 2 "unknown trace format 'xyz'" "$FERRY" trace info --format xyz "$data/msr_sample.csv"
expect_exit 1 "cannot open trace .*missing.csv: No such file" "$FERRY" trace info "$T/missing.csv"
echo "hello" >"$T/hello.txt"
expect_exit 1 "cannot tell the format of trace .*hello.txt.*give --format" "$FERRY" trace info "$T/hello.txt"
printf '128166372003061629,hm,1,Read,4096,512,0\nbroken\n' >"$T/bad.csv"
expect_exit 1 "malformed MSR record: .*bad.csv:2: expected 7 comma-separated fields" \
  "$FERRY" trace info --strict "$T/bad.csv"
"$FERRY" trace info "$T/bad.csv" >/dev/null 2>"$T/warn"
grep -q "warning: skipping malformed record: .*bad.csv:2:" "$T/warn" || die "no warning for a skipped record"
pass "trace info: bad format, missing file, unknown content, strict and lenient"

"$FERRY" trace convert "$data/msr_sample.csv" "$T/replay.log" 2>/dev/null
truncate -s 4G "$T/vol.img"
fio --name=replay --read_iolog="$T/replay.log" --replay_redirect="$T/vol.img" --replay_no_stall=1 \
  --ioengine=psync --output-format=json >"$T/fio.json" 2>"$T/fio.err" || die "fio replay failed: $(cat "$T/fio.err")"
python3 - "$T/fio.json" <<'PY' || die "fio did not replay 2 reads and 2 writes"
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
sys.exit(0 if (j["read"]["total_ios"], j["write"]["total_ios"]) == (2, 2) else 1)
PY
pass "trace convert: fio replays the converted trace (2 reads, 2 writes)"

# A time window: --until and --from split a trace at a time; the halves hold every
# record once, and the second half's times start from the cut.
"$FERRY" trace synth "$T/w.log" --duration 8s --iops 100 2>/dev/null
"$FERRY" trace convert "$T/w.log" "$T/a.log" --until 2s 2>/dev/null
"$FERRY" trace convert "$T/w.log" "$T/b.log" --from 2s 2>/dev/null
records() { json_field <("$FERRY" trace info --json "$1") records; }
[ $(($(records "$T/a.log") + $(records "$T/b.log"))) = "$(records "$T/w.log")" ] || die "the two windows do not hold every record once"
span_b=$(json_field <("$FERRY" trace info --json "$T/b.log") span_s)
python3 -c "import sys; sys.exit(0 if 5.5 < $span_b <= 6.0 else 1)" || die "--from 2s: span $span_b s, want about 6 s"
first=$(awk '$3 ~ /^(read|write)$/ { print $1; exit }' "$T/b.log")
[ "$first" -lt 100000 ] || die "--from 2s: first record at $first us, want its time counted from 2 s"
expect_exit 2 "--until 2s is not after --from 3s: the window holds nothing" \
  "$FERRY" trace convert "$T/w.log" "$T/c.log" --from 3s --until 2s
expect_exit 2 "invalid --from 'soon'" "$FERRY" trace convert "$T/w.log" "$T/c.log" --from soon
pass "trace convert --from/--until: the windows split the trace, times from the cut, bad windows refused"
