#!/usr/bin/env python3
"""Interleaved whole-process timing of two or more commands (A B B A ... rounds), for a noisy shared machine.

    python3 assets/bench/interleave.py --rounds 10 --warmup 1 -n base './old help' -n new './headscope help'

Prints min / median / max wall seconds per command and each command's median ratio to the first, plus the
per-round ratio's min / median / max (each round runs every command once, in alternating order).
"""
import argparse
import statistics
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    ap.add_argument("-n", "--named", nargs=2, action="append", metavar=("NAME", "COMMAND"), required=True)
    args = ap.parse_args()
    names = [n for n, _ in args.named]
    cmds = [c for _, c in args.named]
    times = {n: [] for n in names}
    for r in range(args.warmup + args.rounds):
        order = list(range(len(cmds))) if r % 2 == 0 else list(reversed(range(len(cmds))))
        for i in order:
            t0 = time.perf_counter()
            p = subprocess.run(cmds[i], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            dt = time.perf_counter() - t0
            if p.returncode != 0:
                sys.exit("%s failed (exit %d): %s" % (names[i], p.returncode, p.stderr.decode()[-500:]))
            if r >= args.warmup:
                times[names[i]].append(dt)
    base = names[0]
    print("%-14s %8s %8s %8s   %s" % ("command", "min s", "median", "max s", "ratio to %s: median [per-round min..max]" % base))
    for n in names:
        t = times[n]
        per_round = [a / b for a, b in zip(t, times[base])]
        print("%-14s %8.3f %8.3f %8.3f   %.2f [%.2f..%.2f]" % (n, min(t), statistics.median(t), max(t),
              statistics.median(t) / statistics.median(times[base]), min(per_round), max(per_round)))


if __name__ == "__main__":
    main()
