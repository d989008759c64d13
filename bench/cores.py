"""Multi-core (issue #21): page throughput of `chirp serve --workers 2` against one process,
on the real engines (bench/stack.py). More than one server process needs a cache they all
share (Redis), so on the embedded default (an in-process cache) `chirp serve` refuses it,
and this bench says so.

The same seed and load as bench/reads.py's P2: wrk with --connections connections drives
`homeTimeline(first: 20)` through 50 readers' page cursors, and `{ __typename }` as the
floor, --rounds rounds of --seconds each, alternating. The server is restarted with 1 and
then 2 processes, --repeats times in turn; medians of every round of each.

    .venv/bin/python bench/cores.py [--processes 2] [--repeats 2] [--record]
"""

from __future__ import annotations

import argparse
import os
import statistics

import reads
from stack import Stack


async def main(stack: Stack, args: argparse.Namespace) -> None:
    if not stack.real:
        text = (
            f"bench/cores.py on the {stack.describe()}: not measured. `chirp serve --workers "
            f"{args.processes}` refuses an in-process cache (memory://): the processes would not "
            "share rate limits, caches or live events. Run it on the real engines."
        )
    else:
        async with stack.http(8) as http:
            seeded = await reads.seed(stack, http)
        found: dict[int, dict[str, list[float]]] = {1: {}, args.processes: {}}
        for _ in range(args.repeats):
            for processes in found:
                rates = await reads.p2(stack, seeded, args, processes)
                for name in ("floor", "home"):
                    found[processes].setdefault(name, []).extend(rates[name])
        text = report(stack, args, found)
    print(text)
    if args.record:
        reads.record(stack, text, "bench/cores.py")


def report(stack: Stack, args: argparse.Namespace, found: dict[int, dict[str, list[float]]]) -> str:
    many = args.processes
    median = {n: {k: statistics.median(v) for k, v in rates.items()} for n, rates in found.items()}
    lines = [
        f"bench/cores.py on the {stack.describe()}; {os.cpu_count()} cores, wrk on the same "
        "machine.",
        "",
        f"wrk, {args.connections} connections, {args.rounds * args.repeats} rounds of "
        f"{args.seconds:g} s per setting, medians (req/s):",
        "",
        f"| query | 1 process | {many} processes | ratio | rounds (1) | rounds ({many}) |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in (("floor", "`{ __typename }`"), ("home", "`homeTimeline(first: 20)`")):
        one, more = median[1][name], median[many][name]
        rounds = [", ".join(f"{r:.0f}" for r in found[n][name]) for n in (1, many)]
        lines.append(
            f"| {label} | {one:.0f} | {more:.0f} | {more / one:.2f} | {rounds[0]} | {rounds[1]} |"
        )
    return "\n".join(lines)


def cli() -> None:
    def processes(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--processes", type=int, default=2)

    reads.repeated_cli(__doc__, main, processes)


if __name__ == "__main__":
    cli()
