"""Post-to-live-subscriber latency over websockets, against plain round trips.

One author with --followers followers (10,000; below the celebrity threshold, so fanned
out on write), the first --subscribers of them (1,000) connected to the server with
graphql-transport-ws and subscribed to `subscription { homeTimeline { type tweetId } }`.
A warm-up tweet checks that every subscription is live; then --posts tweets (20) are posted
over HTTP, --interval seconds apart (1 s), and for every (post, subscriber) pair the
latency is the time from the post's send until that subscriber receives ADDED for it.
Pairs never received within --settle seconds after the last post count as infinitely
late. Goal: p99 <= 1 s.

Baselines in the same run, from the same process, measured sequentially:
    HTTP `{ __typename }`            a request/response to the same server (its floor)
    Redis PUBLISH -> subscriber     the pub/sub hop live events ride on (real engines only)
All clients share this one process: with 1,000 sockets, receiving and decoding a burst of
1,000 messages itself takes milliseconds, included in the figures.

On the embedded default the event bus is in-process, so the jobs run inside the server
(--workers 0 is forced).

    eval "$(scripts/services env)"
    .venv/bin/python bench/live.py [--followers 10000] [--subscribers 1000] [--posts 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections import defaultdict

import httpx2
import stack
from websockets.asyncio.client import ClientConnection

SUBSCRIPTION = "subscription { homeTimeline { type tweetId } }"
POST = "mutation($input: PostTweetInput!) { postTweet(input: $input) { id } }"


class Subscribers:
    """Websockets that record, per tweet id, when each ADDED event arrived."""

    def __init__(self) -> None:
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.received: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    async def connect(self, url: str, tokens: list[str], batch: int) -> None:
        for start in range(0, len(tokens), batch):
            await asyncio.gather(*(self._one(url, t) for t in tokens[start : start + batch]))

    async def _one(self, url: str, token: str) -> None:
        socket = await stack.open_subscription(url, token, "home", SUBSCRIPTION)
        self.sockets.append(socket)
        self.readers.append(asyncio.create_task(self._read(socket)))

    async def _read(self, socket: ClientConnection) -> None:
        with contextlib.suppress(Exception):  # a closed socket ends its reader
            async for raw in socket:
                now = time.monotonic()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    event = (message["payload"].get("data") or {}).get("homeTimeline")
                    if event and event["type"] == "ADDED":
                        self.received[event["tweetId"]].append(now)
                    elif message["payload"].get("errors"):
                        self.errors.append(str(message["payload"]["errors"])[:200])
                elif kind == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif kind in ("error", "complete"):
                    self.errors.append(str(message)[:200])

    async def wait_for(self, tweet_id: str, count: int, seconds: float) -> int:
        for _ in range(math.ceil(seconds / 0.05)):
            if len(self.received[tweet_id]) >= count:
                break
            await asyncio.sleep(0.05)
        return len(self.received[tweet_id])

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def _post(http: httpx2.AsyncClient, token: str, text: str) -> str:
    response = await http.post(
        "/graphql",
        json={"query": POST, "variables": {"input": {"text": text}}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"postTweet: {body['errors']}")
    return str(body["data"]["postTweet"]["id"])


async def _redis_floor(stack_: stack.Stack, rounds: int) -> list[float]:
    times = []
    channel = f"bench:ping:{stack_.stamp}"
    async with stack_.redis() as redis:
        pubsub = redis.pubsub()
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=5)  # the subscribe confirmation
        for n in range(rounds):
            started = time.monotonic()
            await redis.publish(channel, str(n))
            for _ in range(100):  # bounded: at most 100 non-matching messages
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                if message is None or message["data"] == str(n).encode():
                    break
            times.append(time.monotonic() - started)
        await pubsub.aclose()
    return times


def _line(label: str, values: list[float]) -> str:
    p50, p99 = stack.quantile(values, 0.5), stack.quantile(values, 0.99)
    return f"  {label:<44} p50 {stack.ms(p50):>9}   p99 {stack.ms(p99):>9}   ({len(values)})"


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    subscribers_n = min(args.subscribers, args.followers)
    [author] = await stack_.create_users(1, "author")
    followers = await stack_.create_users(args.followers, "f")
    await stack_.follow_all([(f, author) for f in followers])
    subs = Subscribers()
    url = stack_.base.replace("http://", "ws://") + "/graphql"
    try:
        started = time.monotonic()
        await subs.connect(url, [stack_.token(f) for f in followers[:subscribers_n]], args.batch)
        print(f"  {subscribers_n} subscribers connected in {time.monotonic() - started:.1f} s")
        token = stack_.token(author)
        http_floor = await stack.http_floor(stack_, args.posts * 5)
        redis_floor = await _redis_floor(stack_, args.posts * 5) if stack_.redis_url else []
        async with stack_.http(4) as http:
            warm = await _post(http, token, "warm-up #bench")
            got = await subs.wait_for(warm, subscribers_n, args.settle)
            print(f"  warm-up tweet reached {got}/{subscribers_n} subscribers", flush=True)
            sent: dict[str, float] = {}
            for n in range(args.posts):
                began = time.monotonic()
                sent[await _post(http, token, f"live {n} #bench")] = began
                stack_.check_alive()
                await asyncio.sleep(max(0.0, began + args.interval - time.monotonic()))
            for tweet_id in sent:
                await subs.wait_for(tweet_id, subscribers_n, args.settle)
    finally:
        await subs.close()
    latencies = []
    for tweet_id, began in sent.items():
        arrivals = subs.received[tweet_id][:subscribers_n]
        latencies += [at - began for at in arrivals]
        latencies += [math.inf] * (subscribers_n - len(arrivals))
    delivered = sum(1 for v in latencies if not math.isinf(v))
    print(
        f"\n{args.followers} followers, {subscribers_n} subscribed, {args.posts} posts "
        f"{args.interval:g} s apart, {args.workers} worker process(es):"
    )
    print(_line("HTTP { __typename } round trip (baseline)", http_floor))
    if redis_floor:
        print(_line("Redis PUBLISH -> subscriber (baseline)", redis_floor))
    print(_line("post sent -> subscriber has ADDED", latencies))
    print(f"  delivered {delivered}/{len(latencies)} (post, subscriber) pairs")
    if subs.errors:
        print(f"  {len(subs.errors)} subscription errors, e.g. {subs.errors[0]}")
    p99 = stack.quantile(latencies, 0.99)
    print(
        f"  p99 / HTTP floor p99: {p99 / stack.quantile(http_floor, 0.99):.1f}x   "
        f"goal p99 <= 1 s: {'met' if p99 <= 1.0 else 'not met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between posts")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to await events")
    parser.add_argument("--batch", type=int, default=100, help="websockets opened at once")
    stack.add_common_options(parser)
    args = parser.parse_args()
    stack.prepare_live(args)
    stack.run(args, lambda s: _body(s, args), {"CHIRP_CELEBRITY_FOLLOWERS": "1000000"})


if __name__ == "__main__":
    main()
