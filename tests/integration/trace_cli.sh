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
