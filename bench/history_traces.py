#!/usr/bin/env python3
"""Issue 14 benchmark: each shared trace cut in half; the first half given to `ferry
serve --history`, the second half replayed live by fio, against the same migration
started with no history, in one run.

The scenario is bench/live_traces.py's (its helpers are used): the source is nbdkit's
sparse-random plugin (the trace's volume, about --data bytes of data) behind the delay
filter (2 ms a read); the second half, `ferry trace convert --from HALF`, is replayed
by fio (ioengine=nbd) scaled in time to last about --seconds, at the trace's own
concurrency; the background rate makes the copy of the data take about half the
replay. Both runs use --policy adaptive and --predictor P (default: serve's own
default, stride+markov):

  cold   ferry serve --predictor P
  warm   ferry serve --predictor P --history FIRST-HALF (`ferry trace convert --until HALF`)

Printed per run: fio's read p50 / p99 (completion latency, us), ferry's own read p99
(time in ferry, from its status as fio ended), the share of reads that waited for the
source, split into first touches and seen ones, and the stalls predictions prevented;
then warm against cold.

  bench/history_traces.py [--traces DIR] [--only NAME] [--seconds 60] [--data 1G] [--predictor P] [--ferry PATH]
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_traces import replay_depth, run, run_traces, serve_replay, source_latency_us, start_source  # noqa: E402


def bench_trace(a, trace, data, work):
    name = os.path.basename(trace)
    info = json.loads(subprocess.run([a.ferry, "trace", "info", "--json", trace], check=True,
                                     capture_output=True, text=True).stdout)
    size = (info["volume_bytes"] + (1 << 20) - 1) // (1 << 20) * (1 << 20)
    half = info["span_s"] / 2
    percent = min(100.0, 100.0 * data / size)
    scale = max(1, round(100 * half / a.seconds))  # fio's replay_time_scale, in percent
    replay_s = half * 100 / scale
    data_bytes = size * percent / 100
    rate = max(1 << 20, int(data_bytes / (replay_s / 2)))
    first, second = os.path.join(work, "first.log"), os.path.join(work, "second.log")
    for path, window in ((first, ["--until", f"{half:.6f}s"]), (second, ["--from", f"{half:.6f}s"])):
        run([a.ferry, "trace", "convert", trace, path] + window, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
    depth = replay_depth(second, half, scale)
    print(f"\n**{name}**: volume {size / 2**30:.1f} GiB with {data_bytes / 2**30:.2f} GiB of data; the first "
          f"{half:.1f} s as the history, the second {half:.1f} s replayed in {replay_s:.0f} s (fio "
          f"replay_time_scale={scale}, iodepth={depth}); source 2 ms a read, background rate "
          f"{rate / 2**20:.1f} MiB/s; --policy adaptive --predictor {a.predictor}\n")
    src, _, src_uri = start_source(work, name, size, percent)
    rows = []
    try:
        source_latency_us(src_uri, work)  # the source answers before the runs start
        fio = ["fio", "--name=replay", "--ioengine=nbd", f"--read_iolog={second}", f"--replay_time_scale={scale}",
               f"--iodepth={depth}", "--percentile_list=50:99", "--output-format=json"]
        base = ["--policy", "adaptive", "--predictor", a.predictor]
        for label, extra in (("cold", base), ("warm", base + ["--history", first])):
            rows.append((label, serve_replay(a.ferry, src_uri, work, rate, fio, extra, label, name)))
    finally:
        src.terminate()
        src.wait()

    print("| run | fio reads | fio p50 us | fio p99 us | ferry p99 us | reads that waited | first touch | seen | "
          "prevented | copied when fio ended |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, st in rows:
        share = 100 * st["waited"] / max(1, st["own_reads"])
        print(f"| {label} | {st['reads']} | {st['p50_us']:.0f} | {st['p99_us']:.0f} | {st['own_p99_us']:.0f} | "
              f"{st['waited']} ({share:.1f}%) | {st['first_touch']} | {st['seen']} | {st['prevented']} | "
              f"{st['percent']:.0f}% |")
    cold, warm = rows[0][1], rows[1][1]
    ratio = lambda x, y: f"{x / y:.2f}x" if y else "-"
    print(f"\nwarm / cold: reads that waited {ratio(warm['waited'], cold['waited'])}, fio p99 "
          f"{ratio(warm['p99_us'], cold['p99_us'])}, ferry p99 {ratio(warm['own_p99_us'], cold['own_p99_us'])}")
    sys.stdout.flush()


def main():
    run_traces("history_traces", __doc__, bench_trace,
               lambda ap: ap.add_argument("--predictor", default="stride+markov"))


if __name__ == "__main__":
    main()
