"""Fan-out rate: deliveries per second into the Redis home timeline cache, against raw Redis.

One author with --followers followers (10,000), below the celebrity threshold (the server
and workers run with CHIRP_CELEBRITY_FOLLOWERS=1,000,000, so the tweet is fanned out on
write). Each repeat posts one tweet over HTTP and times, from the request's send, until
every follower's `timeline:{id}` sorted set holds it: the product's fan-out writes the
timeline store (Cassandra) and then that set, so the set is the end of delivery. The check
is a pipelined ZSCORE over the followers not seen yet, every --poll-interval seconds.

Baseline, in the same run on the same Redis from this process: a raw pipelined ZADD of
one member into each of --followers keys (pipelines of 1,000, the fan-out batch), i.e. the
Redis half of the work with nothing else in front of it. The figure to watch is the ratio
product / raw (goal: 0.5). Each is measured --repeats times, alternating; medians reported.
Needs Redis (the real engines); the embedded default has no timeline sets.

    eval "$(scripts/services env)"
    .venv/bin/python bench/fanout.py [--followers 10000] [--repeats 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import stack

from app.ids import id_timestamp_ms
from storage.records import TimelineEntry, utc_from_ms
from storage.redis.timelines import _key, _member  # the adapter owns the layout

PIPELINE = 1_000


async def _delivered_at(
    stack_: stack.Stack, member: str, followers: list[int], started: float, args: argparse.Namespace
) -> dict[int, float]:
    """Follower -> seconds from `started` until the member was seen in their set."""
    seen: dict[int, float] = {}
    waiting = list(followers)
    deadline = started + args.post_timeout
    async with stack_.redis() as redis:
        while waiting and time.monotonic() < deadline:
            checked_at = time.monotonic()
            scores: list[float | None] = []
            for chunk in range(0, len(waiting), PIPELINE):
                async with redis.pipeline(transaction=False) as pipe:
                    for follower in waiting[chunk : chunk + PIPELINE]:
                        pipe.zscore(_key(follower), member)
                    scores += await pipe.execute()
            now = time.monotonic()
            for follower, score in zip(waiting, scores, strict=True):
                if score is not None:
                    seen[follower] = (checked_at + now) / 2 - started
            waiting = [f for f, score in zip(waiting, scores, strict=True) if score is None]
            if waiting:
                stack_.check_alive()
                await asyncio.sleep(args.poll_interval)
    return seen


async def _product(
    stack_: stack.Stack, author: int, followers: list[int], n: int, args: argparse.Namespace
) -> tuple[float, int, float]:
    """(deliveries/s, delivered, seconds to the last delivery) for one posted tweet."""
    async with stack_.http(4) as http:
        started = time.monotonic()
        tweet_id = await stack.post_tweet(http, stack_.token(author), f"fan-out probe {n} #bench")
    entry = TimelineEntry(utc_from_ms(id_timestamp_ms(tweet_id)), tweet_id, author)
    seen = await _delivered_at(stack_, _member(entry), followers, started, args)
    last = max(seen.values(), default=float("inf"))
    rate = len(seen) / last if seen and len(seen) == len(followers) else 0.0
    if len(seen) < len(followers):
        elapsed = time.monotonic() - started
        rate = len(seen) / elapsed
        print(f"  repeat {n}: only {len(seen)}/{len(followers)} delivered in {elapsed:.0f} s")
    return rate, len(seen), last


async def _raw(stack_: stack.Stack, count: int, n: int) -> float:
    """ZADDs/s of a pipelined ZADD of one member into each of `count` fresh keys."""
    keys = [f"bench:raw:{n}:{i}" for i in range(count)]
    now_ms = time.time() * 1000
    async with stack_.redis() as redis:
        started = time.monotonic()
        for chunk in range(0, count, PIPELINE):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys[chunk : chunk + PIPELINE]:
                    pipe.zadd(key, {f"{n:020d}:1": now_ms})
                await pipe.execute()
        elapsed = time.monotonic() - started
        for chunk in range(0, count, PIPELINE):
            await redis.delete(*keys[chunk : chunk + PIPELINE])
    return count / elapsed


async def _wait_idle(stack_: stack.Stack, seconds: float) -> None:
    """Let the other jobs of a post (indexing) finish before the next measurement."""
    async with stack_.http(2) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            backlog = await stack_.backlog(http)
            if backlog is None:
                await asyncio.sleep(min(2.0, seconds))
                return
            if backlog == 0:
                return
            await asyncio.sleep(0.2)


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    if stack_.redis_url is None:
        raise SystemExit('fanout.py needs Redis: eval "$(scripts/services env)" first')
    [author, warm_author] = await stack_.create_users(2, "author")
    followers = await stack_.create_users(args.followers, "f")
    await stack_.follow_all(
        [(f, author) for f in followers] + [(f, warm_author) for f in followers[:10]]
    )
    print("  warm-up: one tweet to 10 followers", flush=True)
    await _product(stack_, warm_author, followers[:10], 0, args)
    await _wait_idle(stack_, 10)
    product: list[float] = []
    raw: list[float] = []
    lasts: list[float] = []
    for n in range(1, args.repeats + 1):
        raw.append(await _raw(stack_, args.followers, n))
        rate, _, last = await _product(stack_, author, followers, n, args)
        product.append(rate)
        lasts.append(last)
        print(
            f"  repeat {n}: product {rate:8.0f} deliveries/s (last after {stack.ms(last)}), "
            f"raw ZADD {raw[-1]:8.0f}/s",
            flush=True,
        )
        await _wait_idle(stack_, 30)
    p, r = stack.median(product), stack.median(raw)
    print(
        f"\n{args.followers} followers, {args.repeats} repeats, "
        f"{args.workers} worker process(es), medians:"
    )
    print(f"  raw pipelined ZADD (baseline)       {r:10.0f} /s   ({_list(raw)})")
    print(f"  fan-out into timeline:{{id}} sets    {p:10.0f} /s   ({_list(product)})")
    print(f"  post -> last follower's set          {stack.ms(stack.median(lasts))}")
    print(f"  ratio fan-out / raw: {p / r:.3f}   (goal: 0.5)")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--post-timeout", type=float, default=300, help="seconds per repeat")
    parser.add_argument("--poll-interval", type=float, default=0.05)
    stack.add_common_options(parser)
    args = parser.parse_args()
    stack.run(
        args,
        lambda s: _body(s, args),
        {"CHIRP_CELEBRITY_FOLLOWERS": "1000000"},
    )


if __name__ == "__main__":
    main()
