#!/usr/bin/env python3
"""Times commands in interleaved rounds and prints the median seconds of each.

Each round runs every command once, in order, after its prepare command (not timed), so
slow drift of the machine (page cache, writeback, other load) spreads over all commands
alike instead of landing on whichever ran last. Input: a JSON list of
{"name": ..., "prepare": shell command or "", "cmd": [argv...]} on stdin.
Output: one line "name median_seconds" per command. Fails if any command fails.
"""
import json
import statistics
import subprocess
import sys
import time


def main():
    rounds = int(sys.argv[1])
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    cmds = json.load(sys.stdin)
    times = {c["name"]: [] for c in cmds}
    for r in range(warmup + rounds):
        for c in cmds:
            if c["prepare"]:
                subprocess.run(c["prepare"], shell=True, check=True)
            t0 = time.monotonic()
            p = subprocess.run(c["cmd"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            dt = time.monotonic() - t0
            if p.returncode != 0:
                sys.exit(f"rounds: {c['name']} failed ({p.returncode}): {p.stderr.decode().strip()}")
            if r >= warmup:
                times[c["name"]].append(dt)
    for c in cmds:
        print(c["name"], statistics.median(times[c["name"]]))


if __name__ == "__main__":
    main()
