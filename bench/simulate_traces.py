#!/usr/bin/env python3
"""Runs `ferry simulate --policy all` on every shared trace and prints the table for
docs/benchmarks.md, with the checks issue 3 expects: in read-stall ratio
clairvoyant <= adaptive <= min(dmclone, qemu-stream), and adaptive's migration time
within 5% of dmclone's. Deterministic: the figures depend only on the traces.

  bench/simulate_traces.py [--traces DIR] [--ferry PATH] [--predictors] [-- EXTRA SIMULATE ARGS]

With --predictors every predictor runs too (--predictor all): a second table per trace
gives adaptive with each predictor beside clairvoyant, with issue 4's check that the
ensemble is no worse than none. Deterministic except the CPU columns.

DIR defaults to ../shared/traces beside the checkout; the script says so and exits 0
when it is absent (a user's clone has no traces). A trace whose span is too short for a
realistic migration (msr_cut_rand_iops: 1 s) is run as it is and again stretched 100x
(--time-scale 100), as ../shared/traces/README.md suggests.
"""
import argparse, json, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser()
p.add_argument("--traces", default=os.path.join(here, "..", "..", "shared", "traces"))
p.add_argument("--ferry", default=os.path.join(here, "..", "build", "ferry"))
p.add_argument("--predictors", action="store_true",
               help="also run every predictor (--predictor all) and print adaptive's table per predictor, "
                    "beside clairvoyant, with issue 4's check: the ensemble no worse than none")
p.add_argument("extra", nargs="*")
a = p.parse_args()
if not os.path.isdir(a.traces):
    print(f"no traces at {a.traces}: nothing to simulate (give --traces DIR)")
    sys.exit(0)
traces = sorted(f for f in os.listdir(a.traces) if f.endswith(".gz"))
runs = [(t, []) for t in traces] + [(t, ["--time-scale", "100"]) for t in traces if "rand_iops" in t]
failures = []
for trace, args in runs:
    cmd = [a.ferry, "simulate", os.path.join(a.traces, trace), "--policy", "all", "--json"] + args + a.extra
    if a.predictors:
        cmd += ["--predictor", "all"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    sc = j["scenario"]
    predicted = [x for x in j["results"] if x["policy"] == "adaptive" or x["policy"] == "clairvoyant"]
    j["results"] = [x for x in j["results"] if x["predictor"] == "none"]
    r = {x["policy"]: x for x in j["results"]}
    name = trace + (f" (x{sc['time_scale']:g} time)" if sc["time_scale"] != 1 else "")
    print(f"\n**{name}**: volume {sc['volume_size'] / 2**30:.1f} GiB, {sc['events']} events, migration from "
          f"{sc['migration_start_s']:.1f} s of {sc['trace_span_s']:.1f} s, source {sc['source_bw'] / 2**20:.1f} MiB/s "
          f"(bare copy {sc['bare_copy_s']:.1f} s), {sc['reads_after_start']} reads after the start\n")
    print("| policy | read stalls | stall ratio | write stalls | p50 us | p99 us | p99.9 us | migration s | copy ops |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for x in j["results"]:
        l = x["read_latency_us"]
        print(f"| {x['policy']} | {x['read_stalls']} | {x['read_stall_ratio']:.4f} | {x['write_stalls']} | "
              f"{l['p50']:.0f} | {l['p99']:.0f} | {l['p999']:.0f} | {x['migration_time_s']:.1f} | {x['copy_ops']} |")
    s = {k: v["read_stall_ratio"] for k, v in r.items()}
    checks = [
        ("clairvoyant <= adaptive", s["clairvoyant"] <= s["adaptive"]),
        ("adaptive <= min(dmclone, qemu-stream)", s["adaptive"] <= min(s["dmclone"], s["qemu-stream"])),
        ("adaptive migration within 5% of dmclone",
         r["adaptive"]["migration_time_s"] <= 1.05 * r["dmclone"]["migration_time_s"]),
    ]
    if a.predictors:
        print("\n| policy | predictor | read stalls | stall ratio | p99 us | precision | recall | timeliness | "
              "wasted MiB | predict CPU s | train CPU s |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for x in predicted:
            print(f"| {x['policy']} | {x['predictor']} | {x['read_stalls']} | {x['read_stall_ratio']:.4f} | "
                  f"{x['read_latency_us']['p99']:.0f} | {x['precision']:.3f} | {x['recall']:.3f} | "
                  f"{x['timeliness']:.3f} | {x['wasted_bytes'] / 2**20:.1f} | {x['predict_cpu_s']:.2f} | "
                  f"{x['train_cpu_s']:.2f} |")
        pr = {x["predictor"]: x["read_stall_ratio"] for x in predicted if x["policy"] == "adaptive"}
        checks.append(("adaptive+ensemble <= adaptive+none", pr["ensemble"] <= pr["none"]))
    print("\nchecks: " + "; ".join(f"{c}: {'yes' if ok else 'NO'}" for c, ok in checks))
    failures += [f"{name}: {c}" for c, ok in checks if not ok]
print("\nall checks hold" if not failures else "\nchecks that do not hold:\n  " + "\n  ".join(failures))
