#!/usr/bin/env bash
# ferry watch SRC (DESIGN.md "History"): a pass-through NBD export of the source that
# records the workload and shows its heat. Everything the application writes lands on
# the source, the recording replays to the same volume, ferry status shows the figures
# while it runs, the report is written, and a later migration starts from the recording.
source "$(dirname "$0")/lib/common.bash"
need fio

make_image "$T/orig.img" 64M 9 100
cp "$T/orig.img" "$T/vol.img"
fio_args="--rw=randrw --random_distribution=zipf:1.2 --bs=4k --size=64M --number_ios=3000 --iodepth=4 --buffer_pattern=0x5a"
"$FERRY" watch "$T/vol.img" --record "$T/w.log" --status "$T/w.json" --report "$T/w.html" \
  --run "fio --name=app --ioengine=nbd --uri=\"\$uri\" $fio_args >'$T/fio.out' && sleep 1.5 && '$FERRY' status '$T/w.json' >'$T/status.txt'" \
  2>"$T/watch.log" || die "ferry watch: $(tail -3 "$T/watch.log")"
grep -q "^requests: *[0-9]* reads" "$T/status.txt" || die "ferry status of a watch while it ran: $(cat "$T/status.txt")"
grep -q "^hottest: " "$T/status.txt" || die "ferry status shows no hottest granules: $(cat "$T/status.txt")"
python3 - "$T/w.json" <<'PY' || die "the final status: $(cat "$T/w.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["watch"] and not s["running"], s
assert s["reads"] + s["writes"] == 3000 and s["recorded"] == 3000, s
assert s["reads"] > 0 and s["writes"] > 0 and s["errors"] == 0, s
assert 0 < s["touched_bytes"] <= 64 << 20, s
PY
grep -q "watched $T/vol.img for .*3000 requests recorded in $T/w.log" "$T/watch.log" || die "summary: $(tail -2 "$T/watch.log")"
grep -q "<svg" "$T/w.html" && grep -q "Hottest ranges" "$T/w.html" || die "the report has no heat map"
pass "watch: 3000 requests served from the source, recorded; status while running; report"

# The writes landed on the source: the recording's writes applied to the original give it.
cp "$T/orig.img" "$T/expected.img"
fio --name=replay --ioengine=psync --filename="$T/expected.img" --replay_redirect="$T/expected.img" \
  --read_iolog="$T/w.log" --buffer_pattern=0x5a >/dev/null || die "fio cannot replay the watch's recording"
cmp "$T/expected.img" "$T/vol.img" || die "the source is not the original plus the recorded writes"
pass "the application's writes are on the source, exactly as recorded"

# A later migration starts from the recording.
"$FERRY" migrate "$T/vol.img" "$T/dst.img" --history "$T/w.log" --predictor stride --progress none >"$T/m.out" ||
  die "migrate --history of a watch's recording"
cmp "$T/vol.img" "$T/dst.img" || die "migrate --history: destination differs"
pass "migrate --history of the recording: exact copy"

# Bad input: one line each; the existing recording kept.
cp "$T/w.log" "$T/w.keep"
expect_exit 1 "--record $T/w.log: the file exists" "$FERRY" watch "$T/vol.img" --record "$T/w.log" --run true
cmp "$T/w.log" "$T/w.keep" || die "a refused watch changed the recording"
expect_exit 2 "where should clients connect" "$FERRY" watch "$T/vol.img"
rc=0
"$FERRY" watch "$T/none.img" --run true 2>"$T/err" || rc=$?
[ "$rc" != 0 ] && grep -q "source: .*none.img" "$T/err" || die "watch of a missing source: rc $rc, $(cat "$T/err")"
pass "watch refuses an existing recording, no endpoint and a missing source"
