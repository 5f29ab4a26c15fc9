#!/usr/bin/env bash
# History in and out (DESIGN.md "History"): ferry serve --record writes every request it
# serves as a fio iolog v3 that fio replays and ferry reads; a later migration given it
# with --history starts warm (heat map and predictor), and every result splits its read
# stalls into first touches and seen ones. Bad --record and --history input is refused
# with one line, and nothing already there is lost.
source "$(dirname "$0")/lib/common.bash"
need fio

make_image "$T/src.img" 64M 5 100
SRC=$(nbdkit_start src -r --filter=delay --filter=rate file "$T/src.img" rdelay=2ms rate=40M)
# The application: 1500 zipf-distributed 4 KiB reads (the same sequence every run: fio's
# randrepeat), then ferry's status as it ended.
app() {  # STATUS-JSON
  echo "fio --name=app --ioengine=nbd --uri=\"\$uri\" --rw=randread --random_distribution=zipf:1.2 --bs=4k \
    --size=64M --number_ios=1500 --iodepth=1 --output-format=json >'$T/fio.json' && \
    '$FERRY' control '$1.journal' status >'$1.json'"
}

# 1. serve --record: every request, in fio iolog v3.
"$FERRY" serve "$SRC" "$T/dst1.img" --journal "$T/s1.journal" --record "$T/rec.log" --rate 4M \
  --run "$(app "$T/s1")" 2>"$T/serve1.log" || die "serve --record: $(tail -3 "$T/serve1.log")"
[ "$(head -1 "$T/rec.log")" = "fio version 3 iolog" ] || die "the recording is not a fio iolog v3: $(head -2 "$T/rec.log")"
reads=$(grep -c " read " "$T/rec.log")
[ "$reads" -ge 1500 ] || die "the recording has $reads reads, want at least fio's 1500"
grep -q "recorded [0-9]* requests in $T/rec.log" "$T/serve1.log" || die "no word of the recording: $(tail -2 "$T/serve1.log")"
# fio replays it, and ferry reads it.
cp "$T/src.img" "$T/replay.img"
fio --name=replay --ioengine=psync --filename="$T/replay.img" --read_iolog="$T/rec.log" \
  --replay_redirect="$T/replay.img" --output-format=json >"$T/replay.json" || die "fio cannot replay the recording"
replayed=$(python3 -c 'import json,sys; d=open(sys.argv[1]).read(); print(json.loads(d[d.index("{"):])["jobs"][0]["read"]["total_ios"])' "$T/replay.json")
[ "$replayed" = "$reads" ] || die "fio replayed $replayed reads of the $reads recorded"
"$FERRY" trace info "$T/rec.log" >"$T/stats.txt" || die "ferry cannot read its own recording"
pass "serve --record: $reads reads recorded; fio replays them, ferry reads them"

# Every stall is a first touch or a seen one.
split_sums() {  # STATUS-JSON
  python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["read_stalls_first_touch"] + s["read_stalls_seen"] == s["read_stalls"], s
print(s["read_stalls"], s["read_stalls_first_touch"], s["read_stalls_seen"])
PY
}
read -r cold_stalls cold_first cold_seen < <(split_sums "$T/s1.json") || die "status: the stall split does not sum"
[ "$cold_first" -gt 0 ] || die "a cold start had no first touches: $(cat "$T/s1.json")"

# 2. serve --history: the same workload again (fio's sequence repeats), started warm:
# every granule it reads was in the history, so none of its stalls is a first touch.
"$FERRY" serve "$SRC" "$T/dst2.img" --journal "$T/s2.journal" --history "$T/rec.log" --predictor stride --rate 4M \
  --run "$(app "$T/s2")" 2>"$T/serve2.log" || die "serve --history: $(tail -3 "$T/serve2.log")"
read -r warm_stalls warm_first warm_seen < <(split_sums "$T/s2.json") || die "status: the stall split does not sum"
[ "$warm_first" = 0 ] || die "started warm from the same workload, yet $warm_first first touches"
[ "$warm_seen" = "$warm_stalls" ] || die "started warm: $warm_seen seen stalls of $warm_stalls"
grep -q "first touches, [0-9]* seen before" "$T/serve2.log" || die "the summary does not split the stalls"
pass "serve --history: no first touches ($warm_stalls stalls, all seen); cold: $cold_first of $cold_stalls"

# 3. migrate --history (several traces, joined) with a predictor: an exact copy.
"$FERRY" migrate "$T/src.img" "$T/dst3.img" --history "$T/rec.log" "$T/rec.log" --predictor markov --progress none \
  --json >"$T/m.json" || die "migrate --history"
cmp "$T/src.img" "$T/dst3.img" || die "migrate --history: destination differs"
pass "migrate --history with two traces and a predictor: exact copy"

# 4. Bad input: one line, nothing lost.
cp "$T/rec.log" "$T/rec.keep"
expect_exit 1 "--record $T/rec.log: the file exists; give a new path" \
  "$FERRY" serve "$SRC" "$T/dst4.img" --journal "$T/s4.journal" --record "$T/rec.log" --run true
cmp "$T/rec.log" "$T/rec.keep" || die "a refused --record changed the existing file"
expect_exit 2 "--record $T/no/dir/r.log: cannot write in $T/no/dir" \
  "$FERRY" serve "$SRC" "$T/dst4.img" --journal "$T/s4.journal" --record "$T/no/dir/r.log" --run true
expect_exit 1 "--history $T/none.log: cannot read it" \
  "$FERRY" serve "$SRC" "$T/dst4.img" --journal "$T/s4.journal" --history "$T/none.log" --run true
expect_exit 2 "unknown trace format 'tape'" \
  "$FERRY" serve "$SRC" "$T/dst4.img" --journal "$T/s4.journal" --history "$T/rec.log" --history-format tape --run true
expect_exit 2 "history-time-scale must be positive" \
  "$FERRY" migrate "$T/src.img" "$T/dst4.img" --history "$T/rec.log" --history-time-scale 0
expect_exit 2 "need --history TRACE" "$FERRY" migrate "$T/src.img" "$T/dst4.img" --history-dev 1
head -c 3000 /dev/urandom >"$T/junk.log"
expect_exit 1 "--history: .*junk.log" "$FERRY" migrate "$T/src.img" "$T/dst4.img" --history "$T/junk.log"
[ ! -e "$T/dst4.img" ] && [ ! -e "$T/s4.journal" ] || die "a refused command left files behind"
pass "bad --record and --history refused with one line; an existing recording kept"

# 5. serve makes the LSTM on the predictor's thread, once the export is up (its library
# takes a second to load, ten from a cold disk). A library that is not there is still
# refused before anything is served; one that is there but does not load leaves the
# migration to go on without predictions, and status and the summary say why.
if ! "$FERRY" --version | grep -q "without the LSTM"; then
  expect_exit 1 "needs libferry_lstm.so, which was not found" \
    env FERRY_LSTM_LIB="$T/none.so" "$FERRY" serve "$SRC" "$T/dst5.img" --journal "$T/s5.journal" --predictor lstm \
    --run true
  [ ! -e "$T/dst5.img" ] && [ ! -e "$T/s5.journal" ] || die "a refused serve left files behind"
  head -c 4096 /dev/urandom >"$T/broken.so"
  env FERRY_LSTM_LIB="$T/broken.so" "$FERRY" serve "$SRC" "$T/dst5.img" --journal "$T/s5.journal" \
    --history "$T/rec.log" --predictor ensemble --rate 4M \
    --run "$(app "$T/s5") && '$FERRY' status '$T/s5.journal' >'$T/s5.txt'" 2>"$T/serve5.log" ||
    die "serve with a broken LSTM library: $(tail -3 "$T/serve5.log")"
  json_field "$T/s5.json" predictor_error | grep -q "broken.so: invalid ELF header" ||
    die "the status JSON does not say why the predictor could not start: $(cat "$T/s5.json")"
  grep -q "predictor: .*ensemble could not start, copying without predictions: .*broken.so" "$T/s5.txt" ||
    die "status does not say the predictor could not start: $(cat "$T/s5.txt")"
  grep -q "the predictor could not start (.*broken.so" "$T/serve5.log" ||
    die "the summary does not say the predictor could not start: $(tail -2 "$T/serve5.log")"
  python3 -c 'import json,sys; d=open(sys.argv[1]).read(); assert json.loads(d[d.index("{"):])["jobs"][0]["error"] == 0' \
    "$T/fio.json" ||
    die "fio failed against serve with a broken LSTM library"
  pass "serve: a missing LSTM library refused up front; a broken one leaves the copy without predictions, said so"
fi
