"""Server memory (issue #21): RSS per 1,000 idle websocket subscribers, and RSS before and
after 100,000 mixed requests, on the embedded default or, with the real engines' variables
set, on the real engines (bench/stack.py).

Seeds what bench/reads.py seeds (20 authors, 50 readers following them, 200 tweets), then:

1. Subscribers: `chirp serve`'s RSS (VmRSS) with no websocket open, then with --subscribers
   (1,000) graphql-transport-ws connections, each logged in and subscribed to
   `subscription { homeTimeline { type tweetId } }` and left idle for 5 s. The figure is the
   growth per 1,000 subscribers; the baseline is the server's RSS without them.
2. Mixed requests: wrk with 16 connections sends a mix in turn (home pages of every reader
   and cursor, profiles, a tweet by id, search, `{ __typename }`, and a post and a like for
   one request in ten), --chunk requests at a time, and the server's RSS is read after each
   chunk until --requests (100,000) were sent. The baseline is the RSS after the first chunk
   (warm caches); the goal is a last figure within 10 % of it: flat.

    .venv/bin/python bench/memory.py [--subscribers 1000] [--requests 100000] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import reads
from stack import Stack, add_common_options, allow_sockets, open_subscription, rss_mb, run

SUBSCRIPTION = "subscription { homeTimeline { type tweetId } }"
FLAT = 0.10  # the last RSS within 10 % of the warm baseline


def _server_pid(stack: Stack) -> int:
    return stack.processes[0].pid  # start() spawns `chirp serve` first


async def subscribers(stack: Stack, seeded: reads.Seeded, count: int) -> tuple[float, float]:
    """(RSS without subscribers, RSS with `count` idle ones), in MB."""
    await asyncio.sleep(2)
    before = rss_mb(_server_pid(stack))
    url = stack.base.replace("http://", "ws://") + "/graphql"
    tokens = [token for _, token in seeded.readers]
    sockets: list[Any] = []
    try:
        for start in range(0, count, 50):  # 50 handshakes at a time
            opened = await asyncio.gather(
                *(
                    open_subscription(url, tokens[n % len(tokens)], "home", SUBSCRIPTION)
                    for n in range(start, min(count, start + 50))
                )
            )
            sockets.extend(opened)
        await asyncio.sleep(5)
        stack.check_alive()
        return before, rss_mb(_server_pid(stack))
    finally:
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.close()


def _mix(seeded: reads.Seeded, cursors: list[tuple[str, str | None]]) -> list[Any]:
    """(token, body) requests of the mixed load, one round of them."""
    _, token = seeded.readers[0]
    mix: list[tuple[str, dict[str, Any]]] = []
    for n, (reader, after) in enumerate(cursors):
        mix.append((reader, {"query": reads.HOME_PAGE, "variables": {"after": after}}))
        if n % 5 == 0:
            variables = {"n": 20, "u": seeded.authors[n % len(seeded.authors)]}
            mix.append((reader, {"query": reads.PAGES["profile"], "variables": variables}))
            mix.append((reader, {"query": reads.PAGES["search"], "variables": {"n": 20}}))
            mix.append((reader, {"query": reads.FLOOR}))
            mix.append((reader, {"query": reads.TWEET_BY_ID, "variables": {"t": seeded.replied}}))
        if n % 10 == 0:
            text = f"memory bench post {n} #bench"
            mix.append((reader, {"query": reads.POST_TEXT, "variables": {"t": text}}))
            mix.append((token, {"query": reads.LIKE, "variables": {"t": seeded.replied}}))
    return mix


def _wrk_chunk(base: str, script: Path, requests: int, rate: float, connections: int) -> int:
    """About `requests` requests (wrk runs for a time: the time the rate so far predicts);
    how many it sent."""
    seconds = max(1, round(requests / max(rate, 1.0)))
    sent, _ = reads.wrk(base, script, seconds, connections)
    return sent


async def mixed(
    stack: Stack, seeded: reads.Seeded, args: argparse.Namespace
) -> list[tuple[int, float]]:
    """(requests sent so far, server RSS in MB) after each chunk."""
    cursors = await reads.cursors(stack, seeded)
    folder = Path(tempfile.mkdtemp(prefix="chirp-wrk-"))
    try:
        script = reads.wrk_script(folder, "mixed", _mix(seeded, cursors))
        samples: list[tuple[int, float]] = []
        sent, rate = 0, 100.0
        while sent < args.requests:
            started = time.monotonic()
            chunk = min(args.chunk, args.requests - sent)
            done = await asyncio.to_thread(
                _wrk_chunk, stack.base, script, chunk, rate, args.connections
            )
            rate = done / (time.monotonic() - started)
            sent += done
            stack.check_alive()
            samples.append((sent, rss_mb(_server_pid(stack))))
            print(f"  {sent:>7} requests: server RSS {samples[-1][1]:.0f} MB", flush=True)
        return samples
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(
    stack: Stack, args: argparse.Namespace, subs: tuple[float, float], samples: list[Any]
) -> str:
    before, with_subs = subs
    per_thousand = (with_subs - before) * 1000 / args.subscribers
    warm, last = samples[0][1], samples[-1][1]
    peak = max(rss for _, rss in samples)
    growth = (last - warm) / warm
    lines = [
        f"bench/memory.py on the {stack.describe()}.",
        "",
        "| figure | baseline | measured |",
        "|---|---|---|",
        f"| server RSS, {args.subscribers} idle subscribers | {before:.0f} MB without them | "
        f"{with_subs:.0f} MB: {per_thousand:.0f} MB per 1,000 |",
        f"| server RSS over {samples[-1][0]:,} mixed requests | {warm:.0f} MB after the first "
        f"{samples[0][0]:,} | {last:.0f} MB at the end ({growth:+.1%}; peak {peak:.0f} MB; "
        f"median {statistics.median(r for _, r in samples):.0f} MB) |",
        "",
        f"Flat: {'yes' if abs(growth) <= FLAT else 'no'} (bound: within {FLAT:.0%} of the "
        f"warm baseline). Samples every {args.chunk:,} requests: "
        + ", ".join(f"{rss:.0f}" for _, rss in samples)
        + " MB.",
    ]
    return "\n".join(lines)


async def main(stack: Stack, args: argparse.Namespace) -> None:
    async with stack.http(8) as http:
        seeded = await reads.seed(stack, http)
    subs = await subscribers(stack, seeded, args.subscribers)
    samples = await mixed(stack, seeded, args)
    text = report(stack, args, subs, samples)
    print(text)
    if args.record:
        reads.record(stack, text, "bench/memory.py")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_options(parser)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="requests between samples")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--record", action="store_true", help="write the figures into docs/PERFORMANCE.md"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this bench needs wrk: apt-get install wrk (make bench installs it)")
    allow_sockets(args.subscribers)
    if not args.workers:
        args.workers = 1
    run(args, lambda stack: main(stack, args), {"CHIRP_READ_POINTS_PER_HOUR": "1000000000"})


if __name__ == "__main__":
    cli()
