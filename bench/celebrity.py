"""Celebrity cost (issue #21, P5): what a post costs when its author is over the celebrity
threshold, and what merging celebrities into a home page costs, on the embedded default or,
with the real engines' variables set, on the real engines (bench/stack.py).

The server runs the jobs itself (no `chirp worker`), so its `chirp_store_calls_total` counts
the whole of a post: the request, then its fan-out, indexing and notification jobs. The
threshold is --threshold followers (CHIRP_CELEBRITY_FOLLOWERS).

Write cost: two authors below the threshold (a quarter of it and 90% of it: fanned out on
write) are the baseline, two above it (1.5x and 4x: not fanned out) are the figure. Each
posts --repeats tweets one at a time; each post's store calls are counted from the request
until the job backlog is empty again; medians. Goal: a celebrity's post is O(1): the same
number of calls at 1.5x and at 4x the threshold.

Read cost: three readers follow both regular authors, and 0, 1 and 3 celebrities. The store
calls of a warm `homeTimeline(first: 20)` (median of three after one unmeasured request) of
each, against the reader who follows none. Goal: merging celebrities adds at most 1.

    .venv/bin/python bench/celebrity.py [--threshold 1000] [--repeats 3] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import Counter

import httpx2
from reads import HOME_PAGE, record
from stack import Stack, add_common_options, post_tweet, run


async def _settle(stack: Stack, http: httpx2.AsyncClient) -> None:
    for _ in range(3000):
        if (await stack.backlog(http) or 0) == 0:
            return
        stack.check_alive()
        await asyncio.sleep(0.05)
    raise RuntimeError("the jobs did not finish in 2.5 minutes")


async def _post_cost(stack: Stack, http: httpx2.AsyncClient, token: str, n: int) -> Counter[str]:
    before = await stack.store_calls(http)
    await post_tweet(http, token, f"celebrity bench post {n}")
    await _settle(stack, http)
    return await stack.store_calls(http) - before


async def _page_cost(stack: Stack, http: httpx2.AsyncClient, token: str) -> Counter[str]:
    async def one() -> Counter[str]:
        before = await stack.store_calls(http)
        response = await http.post(
            "/graphql",
            json={"query": HOME_PAGE, "variables": {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        if body.get("errors") or len(body["data"]["homeTimeline"]["edges"]) != 20:
            raise RuntimeError(f"homeTimeline: {str(body)[:300]}")
        return await stack.store_calls(http) - before

    await one()
    found = [await one() for _ in range(3)]
    totals = [sum(calls.values()) for calls in found]
    return found[totals.index(sorted(totals)[1])]  # the median request's calls


async def main(stack: Stack, args: argparse.Namespace) -> None:
    threshold = args.threshold
    followers = {
        "regular (0.25x)": threshold // 4,
        "regular (0.9x)": threshold * 9 // 10,
        "celebrity (1.5x)": threshold * 3 // 2,
        "celebrity (4x)": threshold * 4,
        "celebrity (4x) b": threshold * 4,
    }
    fans = await stack.create_users(max(followers.values()), "fan")
    authors = dict(zip(followers, await stack.create_users(len(followers), "star"), strict=True))
    readers = await stack.create_users(3, "reader")  # following 0, 1 and 3 celebrities
    celebrities = [a for name, a in authors.items() if name.startswith("celebrity")]
    edges = [(fan, authors[name]) for name, count in followers.items() for fan in fans[:count]]
    for reader, k in zip(readers, (0, 1, 3), strict=True):
        regular = [a for name, a in authors.items() if name.startswith("regular")]
        edges += [(reader, author) for author in regular + celebrities[:k]]
    await stack.follow_all(edges)
    await stack.restart_server()  # the celebrity list is cached for 30 s per process
    writes: dict[str, list[Counter[str]]] = {name: [] for name in followers}
    async with stack.http(4) as http:
        for n in range(max(args.repeats, 10)):  # 10 tweets each, so pages are full
            for name, author in authors.items():
                calls = await _post_cost(stack, http, stack.token(author), n)
                if n < args.repeats:
                    writes[name].append(calls)
        reads = {
            k: await _page_cost(stack, http, stack.token(r))
            for r, k in zip(readers, (0, 1, 3), strict=True)
        }
    print(report(stack, args, followers, writes, reads))
    if args.record:
        record(stack, report(stack, args, followers, writes, reads), "bench/celebrity.py")


def _by_method(calls: Counter[str]) -> str:
    return ", ".join(f"{method} {n}" for method, n in sorted(calls.items())) or "none"


def report(
    stack: Stack,
    args: argparse.Namespace,
    followers: dict[str, int],
    writes: dict[str, list[Counter[str]]],
    reads: dict[int, Counter[str]],
) -> str:
    lines = [f"bench/celebrity.py on the {stack.describe()}; threshold {args.threshold}.", ""]
    lines += [
        f"Write cost: store calls of one post, request and jobs ({args.repeats} posts each, "
        "median and range):",
        "",
        "| author | followers | calls (median) | range |",
        "|---|---|---|---|",
    ]
    for name, found in writes.items():
        if name.endswith(" b"):
            continue
        totals = [sum(calls.values()) for calls in found]
        lines.append(
            f"| {name} | {followers[name]} | {statistics.median(totals):g} | "
            f"{min(totals)}-{max(totals)} |"
        )
    small, large = (writes[name][-1] for name in ("celebrity (1.5x)", "celebrity (4x)"))
    lines += [
        "",
        f"A celebrity's post at 1.5x the threshold: {_by_method(small)}.",
        f"At 4x: {_by_method(large)}.",
        "",
        "Read cost: store calls of a warm `homeTimeline(first: 20)`:",
        "",
        "| reader follows | calls | added by the merge |",
        "|---|---|---|",
    ]
    base = sum(reads[0].values())
    for k, calls in reads.items():
        label = "no celebrity (baseline)" if k == 0 else f"{k} celebrit{'y' if k == 1 else 'ies'}"
        lines.append(f"| {label} | {sum(calls.values())} | {sum(calls.values()) - base} |")
    lines += [
        "",
        f"With 3 celebrities: {_by_method(reads[3])}.",
        f"With none: {_by_method(reads[0])}.",
        "Goals: a celebrity's post costs the same at 1.5x and 4x; the merge adds at most 1.",
    ]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_options(parser, workers=0)
    parser.add_argument("--threshold", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a threshold of 100, 1 post each")
    parser.add_argument(
        "--record", action="store_true", help="write the figures into docs/PERFORMANCE.md"
    )
    args = parser.parse_args()
    if args.quick:
        args.threshold, args.repeats = 100, 1
    env = {
        "CHIRP_CELEBRITY_FOLLOWERS": str(args.threshold),
        "CHIRP_READ_POINTS_PER_HOUR": "1000000000",
    }
    run(args, lambda stack: main(stack, args), env)


if __name__ == "__main__":
    cli()
