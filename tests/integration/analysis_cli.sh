#!/usr/bin/env bash
# ferry trace synth, ferry heat, ferry simulate and ferry migrate --history, run as a user
# would: a synthetic trace, its heat map and reports, every policy simulated (the JSON
# schema of docs/cli.md, deterministic), bad input, and a migration ordered by a trace.
source "$(dirname "$0")/lib/common.bash"

"$FERRY" trace synth "$T/w.log" --volume-size 1G --duration 40s --iops 400 --hot-size 32M 2>/dev/null
"$FERRY" trace synth "$T/w2.log" --volume-size 1G --duration 40s --iops 400 --hot-size 32M 2>/dev/null
cmp -s "$T/w.log" "$T/w2.log" || die "trace synth is not deterministic for a seed"
"$FERRY" trace synth "$T/w.csv" --to msr --volume-size 1G --duration 40s --iops 400 --hot-size 32M 2>/dev/null
"$FERRY" trace info --json "$T/w.log" >"$T/a"
"$FERRY" trace info --json "$T/w.csv" >"$T/b"
[ "$(json_field "$T/a" records)" = "$(json_field "$T/b" records)" ] || die "fio and msr outputs differ in records"
"$FERRY" trace convert --to msr "$T/w.log" "$T/c.csv" 2>/dev/null
"$FERRY" trace info --json "$T/c.csv" >"$T/c"
[ "$(json_field "$T/c" records)" = "$(json_field "$T/a" records)" ] || die "convert --to msr lost records"
expect_exit 2 "invalid --to 'vscsi'" "$FERRY" trace synth "$T/x" --to vscsi
expect_exit 2 "hot-share plus --stream-share" "$FERRY" trace synth "$T/x" --hot-share 90%
expect_exit 2 "invalid --duration" "$FERRY" trace synth "$T/x" --duration soon
[ ! -e "$T/x" ] || die "a refused synth created its output"
pass "trace synth: deterministic, fio and msr, bad options"

"$FERRY" heat "$T/w.log" --json --report "$T/heat.html" >"$T/heat.json"
python3 - "$T/heat.json" <<'PY' || die "heat --json: unexpected content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["volume_size"] <= 1 << 30 and j["events"] > 10000, j
top = j["hottest_ranges"][0]
# The hot set starts at 1/8 of the volume (128 MiB) and moves to 5/8 (640 MiB).
assert top["offset"] in range(128 << 20, 160 << 20) or top["offset"] in range(640 << 20, 672 << 20), top
c = j["classes"][-1]
assert c["hot_bytes"] + c["warm_bytes"] + c["cold_bytes"] >= j["volume_size"] - (64 << 10), c
PY
"$FERRY" heat "$T/w.log" --json --hot 50% >"$T/heat50.json"
"$FERRY" heat "$T/w.log" --json --hot-count 1000000 >"$T/heatmax.json"
python3 - "$T/heat.json" "$T/heat50.json" "$T/heatmax.json" <<'PY' || die "heat --hot / --hot-count do not move the hot class"
import json, sys
h10, h50, hmax = (json.load(open(f))["classes"] for f in sys.argv[1:])
assert h10[-1]["hot_bytes"] <= h50[-1]["hot_bytes"], (h10[-1], h50[-1])
assert all(c["hot_bytes"] == 0 and c["hot_threshold"] == 1000000 for c in hmax)
PY
grep -q "<svg" "$T/heat.html" || die "heat report has no picture"
! grep -qE "<script|https?://[^\"]*\.(js|css)" "$T/heat.html" || die "heat report is not self-contained"
"$FERRY" heat "$T/w.log" | grep "hottest ranges:" >/dev/null || die "heat: no text summary"
expect_exit 2 "--window must be at least --slide" "$FERRY" heat "$T/w.log" --window 1s --slide 5s
expect_exit 1 "cannot open trace" "$FERRY" heat "$T/none.log"
pass "heat: JSON, self-contained HTML report, text, bad options"

"$FERRY" simulate "$T/w.log" --json --report "$T/sim.html" >"$T/sim.json"
"$FERRY" simulate "$T/w.log" --json >"$T/sim2.json"
cmp -s "$T/sim.json" "$T/sim2.json" || die "simulate is not deterministic"
python3 - "$T/sim.json" <<'PY' || die "simulate --json: schema or ordering wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert set(j) == {"scenario", "results"}
r = {x["policy"]: x for x in j["results"]}
assert list(r) == ["dmclone", "qemu-stream", "heat", "adaptive", "clairvoyant"], list(r)
keys = {"policy", "predictor", "reads", "read_stalls", "read_stall_ratio", "write_stalls", "read_latency_us",
        "migration_time_s", "bytes_from_source", "copy_ops"}
for x in r.values():
    assert keys <= set(x), keys - set(x)
    assert set(x["read_latency_us"]) == {"p50", "p99", "p999", "mean"}
    assert x["completed"] and x["bytes_from_source"] >= j["scenario"]["volume_size"]
# On a workload with a hot set, ferry stalls less than both baselines, its reads wait
# far less (its copies keep out of their way on the link), and the clairvoyant bound
# stalls no more than ferry.
a, d, q, c = (r[p]["read_stall_ratio"] for p in ("adaptive", "dmclone", "qemu-stream", "clairvoyant"))
ap, dp, qp = (r[p]["read_latency_us"]["p99"] for p in ("adaptive", "dmclone", "qemu-stream"))
assert a < min(d, q), (a, d, q)
assert ap * 4 < min(dp, qp), (ap, dp, qp)
assert c <= a * 1.1, (c, a)
PY
for chart in "Read latency CDF" "Read stalls over time" "Migration progress"; do
  grep -q "$chart" "$T/sim.html" || die "simulate report lacks '$chart'"
done
"$FERRY" simulate "$T/w.log" --policy adaptive --time-scale 2 --report "$T/s2.html" | grep "stretched by 2x" >/dev/null \
  || die "a stretched trace is not said to be stretched"
grep -q "stretched by 2x" "$T/s2.html" || die "the report does not say the trace is stretched"
# A build without the LSTM (-DFERRY_LSTM=OFF) says so, and tests everything else.
lstm=1
if "$FERRY" --version | grep "without the LSTM" >/dev/null; then lstm=0; fi
"$FERRY" simulate "$T/w.log" --policy adaptive --predictor all --json --report "$T/pred.html" >"$T/pred.json"
grep -q "<h2>Predictors</h2>" "$T/pred.html" || die "the report has no predictor table"
python3 - "$T/pred.json" "$lstm" <<'PY' || die "simulate --predictor all: wrong results"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
if sys.argv[2] == "1":
    assert [(x["policy"], x["predictor"]) for x in r] == [("adaptive", p) for p in ("none", "stride", "markov", "lstm", "ensemble")], r
    # The LSTM trained on the warm-up (and retrained inline); the others do not train.
    assert r[3]["train_cpu_s"] > 0 and r[4]["train_cpu_s"] > 0 and r[1]["train_cpu_s"] == 0, r
else:
    assert [(x["policy"], x["predictor"]) for x in r] == [("adaptive", p) for p in ("none", "stride", "markov", "ensemble")], r
for x in r:
    assert {"precision", "recall", "timeliness", "wasted_bytes", "predict_cpu_s", "train_cpu_s"} <= set(x)
    assert 0 <= x["precision"] <= 1 and 0 <= x["recall"] <= 1
# The synthetic streams are sequential: stride predicts some of them right.
assert r[1]["precision"] > 0.3 and r[1]["recall"] > 0.05, r[1]
PY
expect_exit 2 "unknown predictor 'oracle'" "$FERRY" simulate "$T/w.log" --predictor oracle
expect_exit 2 "--source-link: lifo not in {fifo,shared}" "$FERRY" simulate "$T/w.log" --source-link lifo
expect_exit 2 "invalid --source-burst" "$FERRY" simulate "$T/w.log" --source-burst 2x
expect_exit 2 "unknown predictor 'stride.stride'" "$FERRY" simulate "$T/w.log" --predictor stride+stride
expect_exit 2 "invalid --latency-target '-1ms'" "$FERRY" simulate "$T/w.log" --latency-target -1ms
expect_exit 2 "invalid --min-rate 'x'" "$FERRY" simulate "$T/w.log" --min-rate x
expect_exit 2 "unknown policy 'fastest'" "$FERRY" simulate "$T/w.log" --policy fastest
expect_exit 2 "invalid --warmup '150%'" "$FERRY" simulate "$T/w.log" --warmup 150%
expect_exit 2 "invalid --source-latency" "$FERRY" simulate "$T/w.log" --source-latency fast
expect_exit 1 "device 7 has no records.*its devices are 0" "$FERRY" simulate "$T/w.log" --dev 7
printf 'fio version 3 iolog\n' >"$T/empty.log"
expect_exit 1 "no read or write records" "$FERRY" simulate "$T/empty.log"
head -c 4096 /dev/urandom >"$T/garbage"
expect_exit 1 "garbage.*give --format" "$FERRY" simulate "$T/garbage"
# --source: the volume's holes are copied without a source read.
"$FERRY" simulate "$T/w.log" --policy dmclone --json >"$T/full.json"
truncate -s "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scenario"]["volume_size"])' "$T/full.json")" "$T/holes.img"
dd if=/dev/urandom of="$T/holes.img" bs=1M count=16 conv=notrunc status=none
"$FERRY" simulate "$T/w.log" --policy dmclone --source "$T/holes.img" --json >"$T/holes.json"
python3 - "$T/full.json" "$T/holes.json" <<'PY' || die "simulate --source: holes not skipped"
import json, sys
full, holes = (json.load(open(p)) for p in sys.argv[1:])
fs, hs = full["scenario"], holes["scenario"]
assert hs["volume_size"] == fs["volume_size"], (hs["volume_size"], fs["volume_size"])
assert hs["data_bytes"] == 16 << 20 and fs["data_bytes"] == fs["volume_size"], (hs["data_bytes"], fs["data_bytes"])
fr, hr = full["results"][0], holes["results"][0]
# dm-clone reads what is missing from the source, holes too: the copy itself reads only the data.
assert hr["bytes_from_source"] < fr["bytes_from_source"] / 2, (hr["bytes_from_source"], fr["bytes_from_source"])
assert hr["completed"]
PY
# --rate paces the background copy as ferry serve --rate does.
"$FERRY" simulate "$T/w.log" --policy dmclone --source "$T/holes.img" --source-bw 10G --rate 8M --json >"$T/rate.json"
python3 - "$T/rate.json" <<'PY' || die "simulate --rate: the copy is not paced"
import json, sys
j = json.load(open(sys.argv[1]))
sc, r = j["scenario"], j["results"][0]
assert sc["rate"] == 8 << 20 and abs(sc["bare_copy_s"] - 2.0) < 1e-6, sc
assert r["completed"] and r["migration_time_s"] >= 1.75, r["migration_time_s"]  # 16 MiB at 8 MiB/s, less demands
PY
expect_exit 2 "invalid --rate" "$FERRY" simulate "$T/w.log" --rate fast
expect_exit 1 "--source: .*nope.img" "$FERRY" simulate "$T/w.log" --source "$T/nope.img"
pass "simulate: JSON schema, determinism, HTML report, time scale, --source, bad input"

# ferry train: a model from a trace, used by simulate and migrate; bad models refused.
if [ "$lstm" = 0 ]; then
  expect_exit 1 "built without the LSTM predictor" "$FERRY" train "$T/w.log" --model "$T/w.model"
  expect_exit 1 "built without the LSTM predictor" "$FERRY" simulate "$T/w.log" --predictor lstm
  pass "train: refused, with the reason, in a build without the LSTM"
else
"$FERRY" train "$T/w.log" --model "$T/w.model" --epochs 2 --json >"$T/train.json"
python3 - "$T/train.json" <<'PY' || die "train --json: unexpected content"
import json, sys
j = json.load(open(sys.argv[1]))
e = j["epochs"]
assert len(e) == 2 and e[0]["tokens"] > 10000 and all(x["seconds"] > 0 and x["cpu_s"] > 0 for x in e), j
assert e[1]["loss"] < e[0]["loss"], e
PY
[ -s "$T/w.model" ] || die "train wrote no model"
"$FERRY" simulate "$T/w.log" --policy adaptive --predictor lstm --model "$T/w.model" --json >"$T/sm.json"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["predictor"])' "$T/sm.json")" = lstm ] ||
  die "simulate --model: no lstm result"
expect_exit 2 "model '.*nothere.pt' does not exist: train one with 'ferry train" \
  "$FERRY" simulate "$T/w.log" --predictor lstm --model "$T/nothere.pt"
head -c 5000 /dev/urandom >"$T/junk.pt"
expect_exit 2 "junk.pt' is not a ferry LSTM model" "$FERRY" simulate "$T/w.log" --predictor lstm --model "$T/junk.pt"
expect_exit 2 "trained with 65536-byte granules, this run uses 4096" \
  "$FERRY" simulate "$T/w.log" --predictor lstm --model "$T/w.model" --granule 4K
expect_exit 2 "needs --predictor lstm or ensemble, not stride" \
  "$FERRY" simulate "$T/w.log" --predictor stride --model "$T/w.model"
expect_exit 2 "not a directory" "$FERRY" train "$T/w.log" --model "$T/no/such/dir/m.pt"
expect_exit 1 "no read or write records" "$FERRY" train "$T/empty.log" --model "$T/e.pt"
head -20 "$T/w.log" >"$T/short.log"
expect_exit 1 "too few repeating deltas" "$FERRY" train "$T/short.log" --model "$T/e.pt"
[ ! -e "$T/e.pt" ] || die "a failed train wrote a model"
expect_exit 1 "needs libferry_lstm.so, which was not found" \
  env FERRY_LSTM_LIB="$T/none.so" "$FERRY" simulate "$T/w.log" --predictor lstm
# Run as a user runs it, found on PATH: the library is still found beside the binary.
(cd "$T" && PATH="$(dirname "$FERRY"):$PATH" ferry simulate w.log --policy adaptive --predictor lstm \
  --model w.model --json >/dev/null) || die "ferry found on PATH does not find libferry_lstm.so beside it"
pass "train: epochs, a model simulate loads; missing, corrupt and mismatched models refused"
fi

# A migration ordered by the trace: the copy is complete and exact, and a bad trace is
# refused before the destination is created.
make_image "$T/src.img" 1G 3 30
"$FERRY" migrate "$T/src.img" "$T/dst.img" --history "$T/w.log" --progress none --json >"$T/m.json"
cmp "$T/src.img" "$T/dst.img" || die "migrate --history: destination differs"
expect_exit 1 "--history: cannot open trace" "$FERRY" migrate "$T/src.img" "$T/dst2.img" --history "$T/none.log"
expect_exit 2 "policy clairvoyant copies in the order of the accesses to come, which only a simulation knows" "$FERRY" migrate "$T/src.img" "$T/dst2.img" --policy clairvoyant
[ ! -e "$T/dst2.img" ] || die "a refused migrate created its destination"
for p in dmclone qemu-stream heat; do
  "$FERRY" migrate "$T/src.img" "$T/dst-$p.img" --policy "$p" --history "$T/w.log" --progress none >/dev/null
  cmp "$T/src.img" "$T/dst-$p.img" || die "migrate --policy $p: destination differs"
done
for p in stride ensemble; do
  "$FERRY" migrate "$T/src.img" "$T/dst-p$p.img" --history "$T/w.log" --predictor "$p" --progress none --json >"$T/mp.json"
  cmp "$T/src.img" "$T/dst-p$p.img" || die "migrate --predictor $p: destination differs"
  [ "$(json_field "$T/mp.json" predictor)" = "$p" ] || die "migrate --predictor $p: not in the summary"
done
[ "$(json_field "$T/mp.json" predicted_bytes)" -gt 0 ] || die "migrate --predictor ensemble predicted nothing"
if [ "$lstm" = 1 ]; then
  "$FERRY" migrate "$T/src.img" "$T/dst-model.img" --history "$T/w.log" --model "$T/w.model" --progress none >/dev/null
  cmp "$T/src.img" "$T/dst-model.img" || die "migrate --model: destination differs"
fi
expect_exit 2 "give --history TRACE" "$FERRY" migrate "$T/src.img" "$T/dst3.img" --predictor stride
expect_exit 2 "works with policy adaptive or heat, not dmclone" "$FERRY" migrate "$T/src.img" "$T/dst3.img" --history "$T/w.log" \
  --predictor stride --policy dmclone
if [ "$lstm" = 1 ]; then
  expect_exit 2 "junk.pt' is not a ferry LSTM model" "$FERRY" migrate "$T/src.img" "$T/dst3.img" --history "$T/w.log" \
    --model "$T/junk.pt"
else
  expect_exit 1 "built without the LSTM predictor" "$FERRY" migrate "$T/src.img" "$T/dst3.img" --history "$T/w.log" \
    --model "$T/junk.pt"
fi
[ ! -e "$T/dst3.img" ] || die "a refused migrate created its destination"
pass "migrate --history and --policy: exact copies; bad trace and policy refused"
