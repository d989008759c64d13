"""Notifications: cause-to-subscriber latency with many subscribers, and a storm of likes.

Latency. --subscribers recipients (1,000), each with a tweet, connected over websockets
(graphql-transport-ws) to `subscription { notifications { type notificationId } }`. Then
--likes likes (500) are sent over HTTP, --interval seconds apart, each by a fresh liker on a
random recipient's tweet; a like's latency is the time from sending `likeTweet` until its
recipient has the UPDATED event. Not received within --settle seconds counts as infinitely
late. Goal: p99 <= 1 s with 1,000 subscribers connected.

Storm. --storm likers (10,000) like one tweet over HTTP (--storm-clients at once), through
the real mutation, jobs and stores. Reported: how long until the recipient's group counts
every like, how many groups it made (goal: 1), and what reading the page costs: store
calls and median latency of `notifications(first: 20)` for the storm's recipient against
a recipient whose group has one like (goal: the same calls, a ratio near 1: the group is
one row, not 10,000).

Baselines in the same run: HTTP `{ __typename }` (the server's floor) and, for the storm
page, the one-like page.

    eval "$(scripts/services env)"     # or nothing, for the embedded default
    .venv/bin/python bench/notifications.py [--subscribers 1000] [--likes 500] [--storm 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import time
from collections import defaultdict
from typing import Any

import httpx2
import stack
from websockets.asyncio.client import ClientConnection

from storage.records import TweetRecord, utcnow

SUBSCRIPTION = "subscription { notifications { type notification { count } } }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
PAGE = """{ notifications(first: 20) { edges { node {
  kind count actors { username } tweet { text } } } } }"""


class Subscribers:
    """Websockets that record when each recipient heard of each UPDATED event."""

    def __init__(self) -> None:
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        # recipient -> (arrival time, the group's count then), in arrival order
        self.heard: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self.errors: list[str] = []

    async def connect(self, url: str, recipients: dict[int, str], batch: int) -> None:
        items = list(recipients.items())
        for start in range(0, len(items), batch):
            await asyncio.gather(*(self._one(url, r, t) for r, t in items[start : start + batch]))

    async def _one(self, url: str, recipient: int, token: str) -> None:
        socket = await stack.open_subscription(url, token, "n", SUBSCRIPTION)
        self.sockets.append(socket)
        self.readers.append(asyncio.create_task(self._read(socket, recipient)))

    async def _read(self, socket: ClientConnection, recipient: int) -> None:
        with contextlib.suppress(Exception):  # a closed socket ends its reader
            async for raw in socket:
                now = time.monotonic()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    event = (message["payload"].get("data") or {}).get("notifications")
                    if event and event["type"] == "UPDATED":
                        self.heard[recipient].append((now, event["notification"]["count"]))
                    elif message["payload"].get("errors"):
                        self.errors.append(str(message["payload"]["errors"])[:200])
                elif kind == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
                elif kind in ("error", "complete"):
                    self.errors.append(str(message)[:200])

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def _graphql(
    http: httpx2.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    if body.get("errors"):
        raise RuntimeError(f"{query[:40]}: {body['errors']}")
    return body


async def _tweets_of(stack_: stack.Stack, authors: list[int]) -> dict[int, int]:
    """One tweet per author, written to the tweet store: author -> tweet id."""
    assert stack_.stores is not None
    tweets = {}
    for author in authors:
        tweet_id = stack_.ids.next_id()
        now = utcnow()
        tweets[author] = tweet_id
        record = TweetRecord(id=tweet_id, user_id=author, text="notify me", created_at=now,
                             updated_at=now)  # fmt: skip
        await stack_.stores.tweets.create(record)
    return tweets


def _global(tweet_id: int) -> str:
    from schema.node import to_global_id

    return str(to_global_id("Tweet", tweet_id))


def _line(label: str, values: list[float]) -> str:
    p50, p99 = stack.quantile(values, 0.5), stack.quantile(values, 0.99)
    return f"  {label:<46} p50 {stack.ms(p50):>9}   p99 {stack.ms(p99):>9}   ({len(values)})"


async def _latency(stack_: stack.Stack, args: argparse.Namespace) -> None:
    recipients = await stack_.create_users(args.subscribers, "r")
    likers = await stack_.create_users(args.likes, "l")
    tweets = await _tweets_of(stack_, recipients)
    subs = Subscribers()
    url = stack_.base.replace("http://", "ws://") + "/graphql"
    sent: list[tuple[int, float]] = []
    try:
        started = time.monotonic()
        await subs.connect(url, {r: stack_.token(r) for r in recipients}, args.batch)
        print(f"  {len(recipients)} subscribers connected in {time.monotonic() - started:.1f} s")
        floor = await stack.http_floor(stack_, 100)
        rng = random.Random(7)
        async with stack_.http(16) as http:

            async def like(liker: int, recipient: int) -> None:
                began = time.monotonic()
                sent.append((recipient, began))
                await _graphql(http, LIKE, {"id": _global(tweets[recipient])}, stack_.token(liker))

            in_flight = []
            for liker in likers:
                began = time.monotonic()
                in_flight.append(asyncio.create_task(like(liker, rng.choice(recipients))))
                stack_.check_alive()
                await asyncio.sleep(max(0.0, began + args.interval - time.monotonic()))
            await asyncio.gather(*in_flight)
        deadline = time.monotonic() + args.settle
        expected: dict[int, int] = defaultdict(int)
        for recipient, _ in sent:
            expected[recipient] += 1

        def waiting() -> bool:
            return any(
                max((c for _, c in subs.heard[r]), default=0) < n for r, n in expected.items()
            )

        while time.monotonic() < deadline and waiting():  # noqa: ASYNC110 (polls sockets' data)
            await asyncio.sleep(0.05)
    finally:
        await subs.close()
    latencies = []
    by_recipient: dict[int, list[float]] = defaultdict(list)
    for recipient, began in sorted(sent, key=lambda pair: pair[1]):
        by_recipient[recipient].append(began)
    for recipient, sends in by_recipient.items():
        # The n-th like on a tweet has arrived with the first event counting n or more (a
        # batch of jobs may fold several likes into one event).
        for n, began in enumerate(sends, start=1):
            arrived = [at for at, count in subs.heard[recipient] if count >= n]
            latencies.append(arrived[0] - began if arrived else math.inf)
    delivered = sum(1 for v in latencies if not math.isinf(v))
    print(
        f"\nlatency: {len(recipients)} subscribers, {len(sent)} likes "
        f"{args.interval:g} s apart, {args.workers} worker process(es):"
    )
    print(_line("HTTP { __typename } round trip (baseline)", floor))
    print(_line("likeTweet sent -> recipient has UPDATED", latencies))
    print(f"  delivered {delivered}/{len(latencies)}")
    if subs.errors:
        print(f"  {len(subs.errors)} subscription errors, e.g. {subs.errors[0]}")
    p99 = stack.quantile(latencies, 0.99)
    print(
        f"  p99 / HTTP floor p99: {p99 / stack.quantile(floor, 0.99):.1f}x   "
        f"goal p99 <= 1 s: {'met' if p99 <= 1.0 else 'not met'}"
    )


async def _storm(stack_: stack.Stack, args: argparse.Namespace) -> None:
    [star, quiet, fan] = await stack_.create_users(3, "star")
    likers = await stack_.create_users(args.storm, "s")
    tweets = await _tweets_of(stack_, [star, quiet])
    async with stack_.http(args.storm_clients) as http:
        await _graphql(http, LIKE, {"id": _global(tweets[quiet])}, stack_.token(fan))
        started = time.monotonic()
        semaphore = asyncio.Semaphore(args.storm_clients)

        async def like(liker: int) -> None:
            async with semaphore:
                await _graphql(http, LIKE, {"id": _global(tweets[star])}, stack_.token(liker))

        await asyncio.gather(*(like(liker) for liker in likers))
        sent_s = time.monotonic() - started
        star_token, quiet_token = stack_.token(star), stack_.token(quiet)
        counts: list[int] = []
        while time.monotonic() - started < args.settle + sent_s + 600:
            body = await _graphql(http, PAGE, {}, star_token)
            edges = body["data"]["notifications"]["edges"]
            counts = [edge["node"]["count"] for edge in edges]
            if sum(counts) >= len(likers):
                break
            stack_.check_alive()
            await asyncio.sleep(0.2)
        done_s = time.monotonic() - started
        pages: dict[str, list[float]] = {"star": [], "quiet": []}
        calls: dict[str, Any] = {}
        for who, token in (("quiet", quiet_token), ("star", star_token)):
            await _graphql(http, PAGE, {}, token)  # warm: compare what a page read costs
            before = await stack_.store_calls(http)
            await _graphql(http, PAGE, {}, token)
            after = await stack_.store_calls(http)
            calls[who] = {m: n - before.get(m, 0) for m, n in after.items() if n > before.get(m, 0)}
        for _ in range(args.page_rounds):
            for who, token in (("quiet", quiet_token), ("star", star_token)):
                began = time.monotonic()
                await _graphql(http, PAGE, {}, token)
                pages[who].append(time.monotonic() - began)
    print(f"\nstorm: {len(likers)} likes of one tweet, {args.storm_clients} clients at once:")
    print(f"  likes sent in {sent_s:.1f} s ({len(likers) / sent_s:.0f}/s)")
    print(
        f"  every like in the group after {done_s:.1f} s: {len(counts)} group(s), "
        f"count {sum(counts)}  (goal: 1 group)"
    )
    for who, label in (("quiet", "1 like (baseline)"), ("star", f"{len(likers)} likes")):
        print(
            f"  page of a group of {label:<20} median {stack.ms(stack.median(pages[who])):>9}"
            f"   store calls {sum(calls[who].values())}: {dict(sorted(calls[who].items()))}"
        )
    ratio = stack.median(pages["star"]) / stack.median(pages["quiet"])
    print(f"  storm page / one-like page (medians): {ratio:.2f}x")


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    if args.subscribers:
        await _latency(stack_, args)
    if args.storm:
        await _storm(stack_, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--likes", type=int, default=500)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between likes")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to await events")
    parser.add_argument("--batch", type=int, default=100, help="websockets opened at once")
    parser.add_argument("--storm", type=int, default=10_000)
    parser.add_argument("--storm-clients", type=int, default=16)
    parser.add_argument("--page-rounds", type=int, default=30)
    stack.add_common_options(parser)
    args = parser.parse_args()
    stack.prepare_live(args)
    stack.run(args, lambda s: _body(s, args), {"CHIRP_READ_POINTS_PER_HOUR": "100000000"})


if __name__ == "__main__":
    main()
