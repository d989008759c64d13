"""View counting: store writes per 1,000 page views, and what it adds to a page's latency.

--viewers readers (200) each follow --authors authors (20) who post --tweets tweets each
(5, over HTTP, fanned out by the server's jobs). Then every viewer reads its home timeline
--depth pages deep (5 pages of `homeTimeline(first: 20)`, following endCursor), --sessions
times over (2), --clients viewers at once (16), against `chirp serve` with view counting on
(the product: views deduplicated per viewer and tweet for 6 h in the cache, flushed every
2 s by the server's in-process worker).

Reported, from the server's /metrics over the reading phase: page views, tweets shown,
views counted, `engagement.add_views_many` calls (store writes) and counter rows written,
each per 1,000 page views, against the naive design's one write per view (per tweet shown)
measured in the same run; and that the counters hold exactly the views counted.

Latency baseline in the same run: a second `chirp serve` on the same stores with view
counting off (CHIRP_VIEW_WINDOW_S=0); --rounds alternating rounds (3) of the same reads
against each, p50 and p99 per page.

    eval "$(scripts/services env)"     # or nothing, for the embedded default
    .venv/bin/python bench/views.py [--viewers 200] [--depth 5] [--sessions 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import time
from typing import Any

import httpx2
import stack

PAGE = """query($after: String) { homeTimeline(first: 20, after: $after) {
  edges { cursor node { id text createdAt likeCount viewCount viewerHasLiked
    author { username } } }
  pageInfo { hasNextPage endCursor } } }"""
_METRIC = re.compile(r'^(chirp_\w+)\{\w+="([^"]*)"\}\s+([0-9.eE+-]+)\s*$', re.M)
FLUSH_WAIT_S = 10.0


async def _metrics(stack_: stack.Stack, http: httpx2.AsyncClient) -> dict[str, float]:
    """The server's counters by "family:label" (store calls, views by stage)."""
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {stack_.secret}"})
    return {f"{family}:{label}": float(n) for family, label, n in _METRIC.findall(response.text)}


def _delta(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


async def _read(
    http: httpx2.AsyncClient, token: str, depth: int, latencies: list[float] | None
) -> tuple[int, int]:
    """One session: `depth` pages of the home timeline; (pages read, tweets shown)."""
    after: str | None = None
    pages = shown = 0
    for _ in range(depth):
        started = time.monotonic()
        response = await http.post(
            "/graphql",
            json={"query": PAGE, "variables": {"after": after}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"homeTimeline: HTTP {response.status_code} {str(body)[:300]}")
        if latencies is not None:
            latencies.append(time.monotonic() - started)
        timeline = body["data"]["homeTimeline"]
        pages += 1
        shown += len(timeline["edges"])
        if not timeline["pageInfo"]["hasNextPage"]:
            break
        after = timeline["pageInfo"]["endCursor"]
    return pages, shown


async def _everyone_reads(
    base: str, tokens: list[str], args: argparse.Namespace, latencies: list[float] | None = None
) -> tuple[int, int]:
    """Every viewer reads one session, --clients at once; (pages, tweets shown)."""
    semaphore = asyncio.Semaphore(args.clients)
    limits = httpx2.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

        async def one(token: str) -> tuple[int, int]:
            async with semaphore:
                return await _read(http, token, args.depth, latencies)

        results = await asyncio.gather(*(one(token) for token in tokens))
    return sum(p for p, _ in results), sum(s for _, s in results)


async def _setup(stack_: stack.Stack, args: argparse.Namespace) -> tuple[list[str], list[int]]:
    viewers = await stack_.create_users(args.viewers, "v")
    authors = await stack_.create_users(args.authors, "a")
    await stack_.follow_all([(v, a) for v in viewers for a in authors])
    tweets = []
    async with stack_.http(16) as http:
        for n in range(args.tweets):
            posts = [
                stack.post_tweet(http, stack_.token(author), f"tweet {n} by {author}")
                for author in authors
            ]
            tweets += await asyncio.gather(*posts)
        tokens = [stack_.token(viewer) for viewer in viewers]
        deadline = time.monotonic() + 600
        while (await stack_.backlog(http) or 0) > 0 and time.monotonic() < deadline:
            stack_.check_alive()
            await asyncio.sleep(0.2)
    return tokens, tweets


async def _baseline_server(stack_: stack.Stack) -> str:
    """A second `chirp serve` on the same stores with view counting off. It runs no jobs
    (so every flush is the first server's, on its /metrics), which if anything makes it
    the faster of the two."""
    port = stack.free_port()
    off = {"CHIRP_VIEW_WINDOW_S": "0", "CHIRP_RUN_WORKERS": "0"}
    stack_._spawn("baseline", ["serve", "--port", str(port)], worker_id=3, env=off)
    base = f"http://127.0.0.1:{port}"
    async with httpx2.AsyncClient(base_url=base, timeout=5) as http:
        for _ in range(300):
            stack_.check_alive()
            with contextlib.suppress(httpx2.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return base
            await asyncio.sleep(0.2)
    raise RuntimeError("the baseline server did not become ready")


async def _writes(stack_: stack.Stack, tokens: list[str], args: argparse.Namespace) -> None:
    async with stack_.http(2) as http:
        before = await _metrics(stack_, http)
        pages = shown = 0
        started = time.monotonic()
        for _ in range(args.sessions):
            p, s = await _everyone_reads(stack_.base, tokens, args)
            pages, shown = pages + p, shown + s
        read_s = time.monotonic() - started
        counted = 0.0
        deadline = time.monotonic() + FLUSH_WAIT_S
        while time.monotonic() < deadline:  # the last flush, at most CHIRP_VIEW_FLUSH_S away
            after = await _metrics(stack_, http)
            counted = _delta(before, after, "chirp_views_total:counted")
            if _delta(before, after, "chirp_views_total:flushed") >= counted:
                break
            await asyncio.sleep(0.2)
    calls = _delta(before, after, "chirp_store_calls_total:engagement.add_views_many")
    rows = _delta(before, after, "chirp_views_total:flushed_tweets")
    flushed = _delta(before, after, "chirp_views_total:flushed")
    per_k = 1000 / pages
    print(
        f"\nwrites: {len(tokens)} viewers x {args.sessions} sessions x up to {args.depth} pages,"
        f" {args.clients} at once: {pages} page views in {read_s:.1f} s ({pages / read_s:.0f}/s)"
    )
    print(f"  tweets shown                     {shown:>8}   {shown * per_k:>9.0f} per 1,000 pages")
    print(f"  views counted (new in window)    {counted:>8.0f}   {counted * per_k:>9.0f}")
    print(f"  store writes (add_views_many)    {calls:>8.0f}   {calls * per_k:>9.1f}")
    print(f"  counter rows in those writes     {rows:>8.0f}   {rows * per_k:>9.0f}")
    print(
        f"  naive baseline, a write per view {shown:>8}   {shown * per_k:>9.0f}"
        f"   ({shown / max(calls, 1):.0f}x the writes)"
    )
    print(f"  views flushed {flushed:.0f} of {counted:.0f} counted")


async def _latency(
    stack_: stack.Stack, baseline: str, tokens: list[str], args: argparse.Namespace
) -> None:
    results: dict[str, list[float]] = {"on": [], "off": []}
    seconds: dict[str, float] = {"on": 0.0, "off": 0.0}
    for _ in range(args.rounds):
        for name, base in (("on", stack_.base), ("off", baseline)):
            started = time.monotonic()
            await _everyone_reads(base, tokens, args, results[name])
            seconds[name] += time.monotonic() - started
    print(f"\nlatency: {args.rounds} alternating rounds, {args.clients} clients, per page:")
    for name, label in (("off", "view counting off (baseline)"), ("on", "view counting on")):
        values = results[name]
        p50, p99 = stack.quantile(values, 0.5), stack.quantile(values, 0.99)
        print(
            f"  {label:<30} p50 {stack.ms(p50):>8}   p99 {stack.ms(p99):>8}"
            f"   {len(values) / seconds[name]:.0f} pages/s ({len(values)})"
        )
    ratio = stack.quantile(results["on"], 0.5) / stack.quantile(results["off"], 0.5)
    print(f"  on / off (p50): {ratio:.2f}x")


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    tokens, tweets = await _setup(stack_, args)
    print(f"  {len(tokens)} viewers, {len(tweets)} tweets in every home timeline")
    baseline = await _baseline_server(stack_)
    await _writes(stack_, tokens, args)
    assert stack_.stores is not None
    counts = await stack_.stores.engagement.counts_many(tweets)  # what viewCount answers
    print(f"  viewCount summed over the tweets: {sum(c.views for c in counts)}")
    await _latency(stack_, baseline, tokens, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--tweets", type=int, default=5, help="tweets per author")
    parser.add_argument("--depth", type=int, default=5, help="pages per session")
    parser.add_argument("--sessions", type=int, default=2, help="sessions per viewer")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    stack.add_common_options(parser, workers=0)
    args = parser.parse_args()
    if args.workers:
        print("the flush is measured on the server's /metrics: jobs run in the server")
        args.workers = 0
    stack.run(args, lambda s: _body(s, args), {"CHIRP_READ_POINTS_PER_HOUR": "1000000000"})


if __name__ == "__main__":
    main()
