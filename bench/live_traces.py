#!/usr/bin/env python3
"""Issue 5 benchmarks (b) and (c): each shared trace replayed by fio against a live
migration, and the same scenario in `ferry simulate`.

For each trace: the source is nbdkit's sparse-random plugin (the trace's volume size,
about --data bytes of data in 16 MiB runs, the rest holes) behind the delay filter (2 ms
a read); fio replays the trace (`ferry trace convert`, then --read_iolog, time scaled so
the replay lasts about --seconds; fio's queue depth is the trace's own concurrency: the
most requests it issues within one source latency of replay time, at most 64, or
--iodepth; ferry's plugin lets a client that leaves with requests in flight go without
nbdkit 1.32's abort, raw_send_socket `sock >= 0`, docs/design-notes.md) against three
systems in turn, each from a fresh destination:

  ferry       ferry serve --policy adaptive --predictor ensemble --rate R
  dmclone     ferry serve --policy dmclone --rate R
  nbdkit-cow  nbdkit's own stack: the cow filter with cow-on-read=true over the slow
              source, hydrated by a background sequential read at R (fio --rate)

R makes the background copy of the data take about half the replay (the simulator's
default scenario). Printed per system: fio's read latency p50 / p99 (completion
latency, microseconds) and read count; for ferry, the reads that waited for the source.
fio's latencies in a replay include the time it sleeps until its next log entry before
it reaps what completed (cloudphysics: fio's p50 2.3 ms where ferry answered in 8 us
with no read waiting), so they say more about the replay than about the system.
Then (c): `ferry simulate --source` against the same source (its size and holes), 2 ms
source latency, the same --rate, a link that is not the limit (--source-bw 10G: the
live source has no bandwidth cap) and a server that works on 16 requests at once
(--source-threads 16: nbdkit's default threads per connection), with no warm-up (ferry serve starts with no history),
for adaptive+ensemble and dmclone, beside the live figures, twice: of the trace at the
replay's time scale, and of what ferry served (each ferry run records it with --record:
the requests at the times fio sent them, which a closed-loop replay moves). The live
figures of that comparison are ferry's own (its status: read p50 and p99 in ferry, and
the reads that waited), not fio's, which add the client's queueing; the simulator's
source latency is the source's own, measured (fio's median of 4 KiB reads one at a
time: the delay filter's 2 ms and the server's time), and its destination latency is
ferry's own p50 when fewer than half of the reads waited (a read from the destination
file: a property of this machine, not of the policy), otherwise its default.

Before the runs the script prints the source's latency one read at a time, alone and
while a file in the destination's directory is written at the background rate with an
fdatasync a second. On this machine's disk the second has a p99 of about 4-5 ms against
2.2 ms alone (docs/design-notes.md, "A busy disk delays the source's answers"): a tail
that no copy policy makes and the simulator does not model. `--dest-dir /dev/shm`
writes the destinations to memory, which takes the disk out of the comparison.

  bench/live_traces.py [--traces DIR] [--only NAME] [--seconds 60] [--data 1G] [--ferry PATH] [--iodepth N]
                       [--dest-dir DIR]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        sys.exit(f"live_traces: {' '.join(cmd[:2])} exited with {r.returncode}")
    return r


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def fio_read_stats(path):
    d = open(path).read()
    job = json.loads(d[d.index("{"):])["jobs"][0]
    r = job["read"]
    p = r["clat_ns"].get("percentile", {})
    return {"reads": r["total_ios"], "p50_us": p.get("50.000000", 0) / 1000, "p99_us": p.get("99.000000", 0) / 1000}


def replay_depth(log, span_s, scale, latency_s=0.002, most=64):
    """fio's queue depth for a replay: the trace's own concurrency, taken as the 99th
    percentile over its requests of how many it issued within one source latency of
    replay time up to each (those would all be outstanding at once), between 1 and
    `most`. (The maximum would be set by the trace's largest burst alone.)"""
    times = []
    for line in open(log):
        p = line.split()
        if len(p) == 5 and p[2] in ("read", "write", "trim"):
            times.append(int(p[0]))
    if len(times) < 2 or max(times) == min(times):
        return 1
    unit = span_s / (max(times) - min(times))  # seconds per timestamp unit
    window = latency_s * scale / 100 / unit    # one source latency of replay time, in trace units
    times.sort()
    counts, lo = [], 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        counts.append(hi - lo + 1)
    counts.sort()
    return max(1, min(counts[len(counts) * 99 // 100], most))


def source_latency_us(uri, work):
    """The source's own latency: fio's median of 4 KiB reads one at a time for 2 s
    (the delay filter's 2 ms plus the server's and the socket's time)."""
    return source_read_latency(uri, work)["p50_us"]


def source_read_latency(uri, work, writes=None):
    """fio's read figures (p50_us, p99_us) of 4 KiB reads of the source one at a time
    for 2 s; with `writes` = (directory, bytes/s), while another job writes a file there
    at that rate with an fdatasync each second (what a migration's destination sees: its
    copies and ferry's journal commits), to show what the machine adds to a source read
    when its disk is busy."""
    out = os.path.join(work, "latency.json")
    cmd = ["fio", "--output-format=json", f"--output={out}", "--percentile_list=50:99", "--time_based",
           "--runtime=2", "--name=latency", "--ioengine=nbd", f"--uri={uri}", "--rw=randread", "--bs=4k",
           "--iodepth=1", "--size=1G"]
    probe_file = os.path.join(writes[0], "probe-writes") if writes else None
    if writes:
        bs = 2 << 20
        cmd += ["--name=writes", "--ioengine=psync", f"--filename={probe_file}",
                "--size=1G", "--rw=write", f"--bs={bs}", f"--rate={int(writes[1])}",
                f"--fdatasync={max(1, int(writes[1]) // bs)}"]
    try:
        for _ in range(50):  # the server's socket may exist a moment before it answers
            if subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return fio_read_stats(out)
            time.sleep(0.1)
    finally:
        if probe_file and os.path.exists(probe_file):
            os.remove(probe_file)
    sys.exit(f"live_traces: cannot read the source at {uri} with fio")


def start_source(work, name, size, percent):
    """The source: nbdkit's sparse-random plugin (`size` bytes, about `percent` of them
    data) behind the delay filter, 2 ms a read, on a socket of its own (the last
    trace's source may linger). Returns the process, its socket and its URI, once it
    listens."""
    sock = os.path.join(work, f"src-{name}.sock")
    proc = subprocess.Popen(["nbdkit", "-f", "-U", sock, "-r", "--filter=delay", "sparse-random", str(size),
                             "seed=1", f"percent={percent}", "delay-read=2ms"])
    wait_socket(sock, proc)
    return proc, sock, f"nbd+unix:///?socket={sock}"


def wait_socket(path, proc=None):
    for _ in range(400):
        if os.path.exists(path):
            return
        if proc and proc.poll() is not None:
            sys.exit(f"live_traces: server for {path} exited")
        time.sleep(0.05)
    sys.exit(f"live_traces: nothing listens on {path}")


def run_traces(name, doc, bench, more_args=lambda ap: None):
    """The scripts' common main: --traces, --only, --seconds, --data, --ferry (and what
    more_args adds), then bench(args, trace, data_bytes, workdir) for each shared trace
    in a fresh work directory under /var/tmp."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", default=os.path.join(TOP, "..", "shared", "traces"))
    ap.add_argument("--only", default="")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--data", default="1G")
    ap.add_argument("--ferry", default=os.path.join(TOP, "build", "ferry"))
    ap.add_argument("--dest-dir", default="",
                    help="where the destinations (ferry's, and the cow filter's overlay) are written "
                         "(default: the work directory under /var/tmp; /dev/shm keeps the disk out of it)")
    more_args(ap)
    a = ap.parse_args()
    for tool in ("nbdkit", "fio"):
        if not shutil.which(tool):
            sys.exit(f"{name}: {tool} is missing: run scripts/setup")
    traces = sorted(t for t in glob.glob(os.path.join(a.traces, "*")) if not t.endswith(".md") and a.only in t)
    if not traces:
        sys.exit(f"{name}: no traces in {a.traces} (they are in ../shared/traces beside the project)")
    data = size_bytes(a.data)
    work = tempfile.mkdtemp(prefix=f"ferry-{name}-", dir="/var/tmp")
    try:
        for trace in traces:
            try:
                bench(a, trace, data, work)
            except ServerAborted as e:
                print(f"\nnot measured: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    run_traces("live_traces", __doc__, bench_trace, lambda ap: ap.add_argument(
        "--iodepth", type=int, default=0,
        help="fio's queue depth (default: the trace's own concurrency, see replay_depth)"))


class ServerAborted(Exception):
    pass


def serve_replay(ferry, src_uri, work, rate, fio, extra, label, name, record=None, dest_dir=None):
    """fio (the command list `fio`, without --uri) against `ferry serve src_uri` with
    `extra` flags and --rate `rate`, from a fresh destination (in `dest_dir`, default
    `work`), recording what it serves to `record` when given. Returns fio's read figures
    beside ferry's own from its status as fio ended (waited, first_touch, seen,
    prevented, percent, own_reads, own_p50_us, own_p99_us)."""
    out = os.path.join(work, "fio.json")
    live = os.path.join(work, "live.json")
    j = os.path.join(work, "j")
    serve_log = os.path.join(work, "serve.log")
    dst = os.path.join(dest_dir or work, "dst.img")
    cmd = (" ".join(fio) + f' --uri="$uri" > {out}; {ferry} control {j} status > {live}')
    for attempt in range(3):
        for f in glob.glob(dst + "*") + glob.glob(os.path.join(work, "j*")) + [record or ""]:
            if os.path.exists(f):
                os.remove(f)
        r = subprocess.run([ferry, "serve", src_uri, dst, "--journal", j,
                            "--rate", str(rate), "--run", cmd] + extra + (["--record", record] if record else []),
                           stderr=open(serve_log, "w"))
        # nbdkit 1.32.5 aborts when fio leaves with requests in flight at the end of
        # its replay (docs/design-notes.md, "Clients that leave with requests in
        # flight"): that run is repeated, and said so.
        if r.returncode != 0 and "raw_send_socket: Assertion" in open(serve_log).read():
            print(f"({label}: nbdkit 1.32.5 aborted as fio left with replies it had not read)")
            if attempt < 2:
                continue
            raise ServerAborted(f"{name}: nbdkit 1.32.5 aborted in each of 3 runs of {label}")
        if r.returncode != 0:
            tail = open(serve_log).read().strip().splitlines()[-5:]
            sys.exit(f"live_traces: ferry serve exited with {r.returncode}" + "".join("\n  " + t for t in tail))
        break
    for f in glob.glob(dst + "*"):
        os.remove(f)
    st = fio_read_stats(out)
    lv = json.loads(open(live).read())
    st.update(waited=lv["read_stalls"], first_touch=lv["read_stalls_first_touch"], seen=lv["read_stalls_seen"],
              prevented=lv["prevented_stalls"], percent=lv["percent"], own_reads=lv["reads"],
              own_p50_us=lv["read_p50_us"], own_p99_us=lv["read_p99_us"])
    return st


def bench_trace(a, trace, data, work):
    name = os.path.basename(trace)
    info = json.loads(subprocess.run([a.ferry, "trace", "info", "--json", trace], check=True,
                                     capture_output=True, text=True).stdout)
    size = (info["volume_bytes"] + (1 << 20) - 1) // (1 << 20) * (1 << 20)
    span = info["span_s"]
    percent = min(100.0, 100.0 * data / size)
    # fio's replay_time_scale is a rate in percent: 200 replays twice as fast.
    scale = max(1, round(100 * span / a.seconds))
    replay_s = span * 100 / scale
    data_bytes = size * percent / 100
    rate = max(1 << 20, int(data_bytes / (replay_s / 2)))
    log = os.path.join(work, "w.log")
    run([a.ferry, "trace", "convert", trace, log], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    depth = replay_depth(log, span, scale) if a.iodepth == 0 else a.iodepth
    print(f"\n**{name}**: volume {size / 2**30:.1f} GiB with {data_bytes / 2**30:.2f} GiB of data, "
          f"{info['records']} records over {span:.1f} s replayed in {replay_s:.0f} s (fio replay_time_scale={scale}, "
          f"iodepth={depth}), source 2 ms a read, background rate {rate / 2**20:.1f} MiB/s\n")

    src, src_sock, src_uri = start_source(work, name, size, percent)
    rows = []
    try:
        dest_dir = a.dest_dir or work
        alone = source_read_latency(src_uri, work)
        loaded = source_read_latency(src_uri, work, writes=(dest_dir, rate))
        src_latency_us = alone["p50_us"]
        print(f"The source's 4 KiB reads one at a time (fio, 2 s): p50 {alone['p50_us']:.0f} us, p99 "
              f"{alone['p99_us']:.0f} us; while {dest_dir} is written at the background rate with an "
              f"fdatasync a second: p50 {loaded['p50_us']:.0f} us, p99 {loaded['p99_us']:.0f} us "
              "(what this machine adds to a source read while the destination's disk is busy).\n")
        fio = ["fio", "--name=replay", "--ioengine=nbd", f"--read_iolog={log}", f"--replay_time_scale={scale}",
               f"--iodepth={depth}", "--percentile_list=50:99", "--output-format=json"]
        for label, extra in (("ferry adaptive+ensemble", ["--policy", "adaptive", "--predictor", "ensemble"]),
                             ("ferry --policy dmclone", ["--policy", "dmclone"])):
            rec = os.path.join(work, f"rec{len(rows)}.iolog")
            st = serve_replay(a.ferry, src_uri, work, rate, fio, extra, label, name, record=rec, dest_dir=dest_dir)
            st.update(extra=extra, record=rec)
            rows.append((label, st))
        # nbdkit's own stack: cow filter, cow-on-read, a background sequential read.
        cow_sock = os.path.join(work, f"cow-{name}.sock")
        cow = subprocess.Popen(["nbdkit", "-f", "-U", cow_sock, "--filter=cow", "nbd", f"socket={src_sock}",
                                "cow-on-read=true"], env=dict(os.environ, TMPDIR=dest_dir))
        try:
            wait_socket(cow_sock, cow)
            cow_uri = f"nbd+unix:///?socket={cow_sock}"
            hydrate = subprocess.Popen(["fio", "--name=hydrate", "--ioengine=nbd", f"--uri={cow_uri}", "--rw=read",
                                        "--bs=2M", f"--rate={rate}", "--time_based", f"--runtime={int(replay_s) + 5}",
                                        "--output=/dev/null"])
            out = os.path.join(work, "fio.json")
            run(fio + [f"--uri={cow_uri}", f"--output={out}"], stdout=subprocess.DEVNULL)
            hydrate.terminate()
            hydrate.wait()
            rows.append(("nbdkit cow-on-read", fio_read_stats(out)))
        finally:
            cow.terminate()
            cow.wait()
        # (c) the simulator, same scenario, the source's holes read from the source itself.
        scenario = ["--warmup", "0", "--source", src_uri, "--source-bw", "10G", "--source-threads", "16",
                    "--rate", str(rate), "--json"]
        sim = json.loads(subprocess.run(
            [a.ferry, "simulate", trace, "--policy", "all", "--predictor", "ensemble", "--source-latency", "2ms",
             "--time-scale", f"{100 / scale:.6f}"] + scenario,
            check=True, capture_output=True, text=True).stdout)
        recorded = {}
        for label, st in rows[:2]:
            measured = ["--source-latency", f"{round(src_latency_us)}us"]
            if 2 * st["waited"] < st["own_reads"]:
                measured += ["--dest-latency", f"{max(1, round(st['own_p50_us']))}us"]
            out = json.loads(subprocess.run([a.ferry, "simulate", st["record"]] + st["extra"] + scenario + measured,
                                            check=True, capture_output=True, text=True).stdout)
            recorded[label] = (out["results"][0], measured)
    finally:
        src.terminate()
        src.wait()

    print("| system | fio reads | read p50 us | read p99 us | reads that waited (ferry) | copied when fio ended |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, st in rows:
        waited = f"{st['waited']} ({100 * st['waited'] / max(1, st['reads']):.1f}%)" if "waited" in st else "-"
        pct = f"{st['percent']:.0f}%" if "percent" in st else "-"
        print(f"| {label} | {st['reads']} | {st['p50_us']:.0f} | {st['p99_us']:.0f} | {waited} | {pct} |")

    print("\n(c) `ferry simulate --source` of the same trace (time scale, source, rate; no warm-up) against the "
          "live run above (fio's figures):\n")
    print("| policy | live reads | sim reads | live p50 us | sim p50 us | live p99 us | sim p99 us | "
          "live reads that waited | sim read stalls |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    live = dict(rows)
    for r in sim["results"]:
        key = (r["policy"], r["predictor"])
        label = {("adaptive", "ensemble"): "ferry adaptive+ensemble", ("dmclone", "none"): "ferry --policy dmclone"}.get(key)
        if not label:
            continue
        lv, lat = live[label], r["read_latency_us"]
        print(f"| {r['policy']}+{r['predictor']} | {lv['reads']} | {r['reads']} | {lv['p50_us']:.0f} | {lat['p50']:.0f} | "
              f"{lv['p99_us']:.0f} | {lat['p99']:.0f} | {100 * lv['waited'] / max(1, lv['reads']):.1f}% | "
              f"{100 * r['read_stall_ratio']:.1f}% |")
    print("\n(c) `ferry simulate --source` of what ferry served (its --record), against ferry's own figures; "
          "targets: p50 and p99 within 25%, reads that waited within 2 points:\n")
    print("| policy | ferry's reads | sim reads | ferry p50 us | sim p50 us | ferry p99 us | sim p99 us | "
          "ferry: reads that waited | sim | met |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, (r, flags) in recorded.items():
        lv, lat = live[label], r["read_latency_us"]
        waited_live = 100 * lv["waited"] / max(1, lv["own_reads"])
        waited_sim = 100 * r["read_stall_ratio"]
        near = lambda x, y: abs(x - y) <= 0.25 * max(y, 1e-9)
        met = near(lat["p50"], lv["own_p50_us"]) and near(lat["p99"], lv["own_p99_us"]) and abs(waited_sim - waited_live) <= 2
        print(f"| {label} ({' '.join(flags)}) | {lv['own_reads']} | {r['reads']} | "
              f"{lv['own_p50_us']:.0f} | {lat['p50']:.0f} | {lv['own_p99_us']:.0f} | {lat['p99']:.0f} | "
              f"{waited_live:.1f}% | {waited_sim:.1f}% | {'yes' if met else 'no'} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
