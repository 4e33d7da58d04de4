#!/usr/bin/env python3
"""Replays gradguard's divergence stop (--divergence-stop FACTOR:STEPS) over the metrics.jsonl of finished runs.

For every run directory under the given paths (a directory holding metrics.jsonl and summary.json), prints the
step at which the stop would end the run, under the rule gradguard uses (a count that goes up at each step whose
loss is above FACTOR times the first finite loss and down, never below zero, at each other step; the run stops when
it reaches STEPS) and under the older rule (STEPS steps in a row above the level), then counts the runs that
learned (summary.json's "learned") and that either rule would have stopped.

    python3 scripts/divergence_replay.py [--factor 10] [--steps 100] DIR...
"""
import argparse
import json
import math
import os
import sys


def stop_step(losses, factor, steps, in_a_row):
    first = None
    count = 0
    for i, loss in enumerate(losses):
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            continue
        if first is None:
            first = loss
            continue
        above = loss > factor * first
        if in_a_row:
            count = count + 1 if above else 0
        else:
            count = count + 1 if above else max(0, count - 1)
        if count >= steps:
            return i
    return None


def runs(paths):
    for path in paths:
        for root, _, files in os.walk(path):
            if "metrics.jsonl" in files and "summary.json" in files:
                yield root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    total = learned = stopped_counting = stopped_in_a_row = 0
    for run in runs(args.dirs):
        try:
            with open(os.path.join(run, "summary.json")) as f:
                summary = json.load(f)
            losses = []
            with open(os.path.join(run, "metrics.jsonl")) as f:
                for line in f:
                    losses.append(json.loads(line).get("loss"))
        except (OSError, ValueError) as e:
            print(f"{run}: skipped ({e})", file=sys.stderr)
            continue
        total += 1
        counting = stop_step(losses, args.factor, args.steps, in_a_row=False)
        in_a_row = stop_step(losses, args.factor, args.steps, in_a_row=True)
        did_learn = bool(summary.get("learned"))
        learned += did_learn
        stopped_counting += did_learn and counting is not None
        stopped_in_a_row += did_learn and in_a_row is not None
        if counting != in_a_row:
            print(f"{run}: {len(losses)} steps, learned {did_learn}; stops at step {counting} (count), "
                  f"{in_a_row} (in a row)")
    print(f"{total} runs, {learned} learned; learned runs stopped: {stopped_counting} by the count, "
          f"{stopped_in_a_row} by steps in a row")


if __name__ == "__main__":
    main()
