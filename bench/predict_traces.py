#!/usr/bin/env python3
"""Issue 14's prediction benchmark: `ferry simulate --policy adaptive --predictor all` on
every shared trace (default scenario), and on cloudphysics again with more source
bandwidth, printing per predictor the read stalls split into first touches and
seen-before ones, the stalls predictions prevented, precision, recall, timeliness and
CPU; then issue 14's checks:
  - the ensemble never worse than its best member (within 2%);
  - on every shared trace (default scenario) where `none` stalls at least 100 reads,
    the ensemble at most 0.9x the read stalls of none, and at most 0.8x on average over
    those traces (the runs with more bandwidth are shown beside, not counted).
Deterministic except the CPU column.

  bench/predict_traces.py [--traces DIR] [--ferry PATH] [--bandwidths 24M,48M,96M,192M]

DIR defaults to ../shared/traces beside the checkout; the script says so and exits 0
when it is absent (a user's clone has no traces).
"""
import argparse, json, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--traces", default=os.path.join(here, "..", "..", "shared", "traces"))
p.add_argument("--ferry", default=os.path.join(here, "..", "build", "ferry"))
p.add_argument("--bandwidths", default="24M,48M,96M,192M",
               help="cloudphysics's extra runs, each with --source-bw B (empty: none)")
a = p.parse_args()
if not os.path.isdir(a.traces):
    print(f"no traces at {a.traces}: nothing to simulate (give --traces DIR)")
    sys.exit(0)
traces = sorted(f for f in os.listdir(a.traces) if f.endswith(".gz"))
runs = [(t, []) for t in traces]
runs += [(t, ["--source-bw", bw]) for t in traces if "cloudphysics" in t for bw in a.bandwidths.split(",") if bw]
members = ["stride", "markov", "lstm"]
checked = []  # (name, none, ensemble, best member, its stalls)
for trace, extra in runs:
    cmd = [a.ferry, "simulate", os.path.join(a.traces, trace), "--policy", "adaptive", "--predictor", "all",
           "--json"] + extra
    j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    name = trace + (f", `--source-bw {extra[1]}`" if extra else " (default link)")
    print(f"\n**{name}**\n")
    print("| predictor | read stalls | first touch | seen | prevented | precision | recall | timeliness | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    by = {}
    for x in j["results"]:
        by[x["predictor"]] = x
        none = x["predictor"] == "none"
        dash = lambda v, f: "-" if none else format(v, f)
        print(f"| {x['predictor']} | {x['read_stalls']} | {x['read_stalls_first_touch']} | {x['read_stalls_seen']} | "
              f"{dash(x['prevented_stalls'], 'd')} | {dash(x['precision'], '.3f')} | {dash(x['recall'], '.3f')} | "
              f"{dash(x['timeliness'], '.3f')} | {dash(x['predict_cpu_s'] + x['train_cpu_s'], '.1f')} |")
    best = min(members, key=lambda m: by[m]["read_stalls"])
    checked.append((name, by["none"]["read_stalls"], by["ensemble"]["read_stalls"], best, by[best]["read_stalls"],
                    not extra))

print("\nchecks:\n")
print("| run | none | ensemble | best member | ensemble / best member (<= 1.02) | ensemble / none (<= 0.9 where none >= 100) |")
print("|---|---:|---:|---|---:|---:|")
fails, ratios = [], []
for name, none, ens, best, best_stalls, default in checked:
    to_best = ens / max(1, best_stalls)
    to_none = ens / none if none else 1.0
    if to_best > 1.02:
        fails.append(f"{name}: ensemble {ens} > 1.02 x {best} {best_stalls}")
    counted = default and none >= 100
    if counted:
        ratios.append(to_none)
        if to_none > 0.9:
            fails.append(f"{name}: ensemble {ens} > 0.9 x none {none}")
    note = "" if counted else (" (none < 100)" if default else " (not counted)")
    print(f"| {name} | {none} | {ens} | {best} {best_stalls} | {to_best:.3f} | {to_none:.3f}{note} |")
if ratios:
    mean = sum(ratios) / len(ratios)
    print(f"\nmean ensemble / none over the {len(ratios)} shared traces where none stalls at least 100 reads: {mean:.3f} "
          f"(target <= 0.8)")
    if mean > 0.8:
        fails.append(f"mean ensemble / none {mean:.3f} > 0.8")
print("\nall checks hold" if not fails else "\nchecks that do not hold:\n  " + "\n  ".join(fails))
