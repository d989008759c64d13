"""Soak: mixed traffic from many users for --duration seconds (600), with websockets
connected, watching whether anything grows that should stay flat.

--users users (300), each following --follows others (30), with the first --sockets of
them (100) subscribed to their home timeline over graphql-transport-ws. --clients clients
(16) loop closed-loop over a mix of what users do: read the home timeline (45 %), read a
profile's tweets (15 %), post (15 %), like (10 %), search (10 %) and read their own
profile (5 %), each as a random user. Every --sample seconds (10) the bench reads the
server's resident memory and open file descriptors from /proc, and the worker's (on the
embedded default the server runs the jobs itself: its event bus is in-process).

Per minute it prints requests, errors (HTTP >= 500 or any GraphQL error other than
RATE_LIMITED), p50 and p99 latency, the server's RSS and open descriptors, the worker's
RSS, and live events received. The baseline is the run's own first minute: the last
minute's figures are printed beside it as ratios; flat means a ratio near 1 (RSS and fds
within 10 %, p99 within 50 % on this noisy machine) and zero errors throughout.

    eval "$(scripts/services env)"    # or nothing: the embedded default
    .venv/bin/python bench/soak.py [--duration 600] [--clients 16] [--sockets 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from dataclasses import dataclass, field

import httpx2
import stack
from live import Subscribers

HOME = (
    "query { homeTimeline(first: 20) { edges { node { id text likeCount author { username } } } } }"
)
PROFILE = (
    "query($name: String!) { user(username: $name) { username followersCount "
    "tweets(first: 20) { edges { node { id text } } } } }"
)
ME = "query { me { username followersCount followingCount } }"
POST = "mutation($input: PostTweetInput!) { postTweet(input: $input) { id } }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { likeCount } }"
SEARCH = "query($q: String!) { search(query: $q, first: 20) { edges { node { id } } } }"
WORDS = ["soak", "coffee", "rain", "music", "chirp", "night", "code", "bread"]
MIX = [("home", 45), ("profile", 15), ("post", 15), ("like", 10), ("search", 10), ("me", 5)]


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    limited: int = 0
    rss_mb: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    worker_rss_mb: list[float] = field(default_factory=list)
    events: int = 0


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Traffic:
    def __init__(self, stack_: stack.Stack, users: list[int], names: dict[int, str]) -> None:
        self._stack = stack_
        self._users = users
        self._names = names
        self._tokens = {u: stack_.token(u) for u in users}
        self._recent: list[str] = []  # tweet ids to like
        self.minutes: list[Minute] = [Minute()]
        self._kinds = [kind for kind, weight in MIX for _ in range(weight)]

    def _request(self, kind: str, user: int, rng: random.Random) -> tuple[str, dict[str, object]]:
        if kind == "profile":
            return PROFILE, {"name": self._names[rng.choice(self._users)]}
        if kind == "post":
            text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{rng.choice(WORDS)} {rng.random()}"
            return POST, {"input": {"text": text}}
        if kind == "like" and self._recent:
            return LIKE, {"id": rng.choice(self._recent[-200:])}
        if kind == "search":
            return SEARCH, {"q": rng.choice(WORDS)}
        if kind == "me":
            return ME, {}
        return HOME, {}

    async def client(self, http: httpx2.AsyncClient, stop: float, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop:
            user = rng.choice(self._users)
            query, variables = self._request(rng.choice(self._kinds), user, rng)
            started = time.monotonic()
            minute = self.minutes[-1]
            try:
                response = await http.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {self._tokens[user]}"},
                )
                body = response.json()
                codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
                if response.status_code >= 500 or any(c != "RATE_LIMITED" for c in codes):
                    minute.errors += 1
                elif codes:
                    minute.limited += 1
                elif query is POST:
                    self._recent.append(body["data"]["postTweet"]["id"])
            except httpx2.HTTPError:
                minute.errors += 1
            minute.latencies.append(time.monotonic() - started)


def _row(n: int | str, m: Minute) -> str:
    lat = m.latencies
    return (
        f"  {n!s:>6} {len(lat):>8} {m.errors:>6} {m.limited:>7} "
        f"{stack.ms(stack.quantile(lat, 0.5)):>9} {stack.ms(stack.quantile(lat, 0.99)):>9} "
        f"{max(m.rss_mb, default=0):>8.0f} {max(m.fds, default=0):>5} "
        f"{max(m.worker_rss_mb, default=0):>9.0f} {m.events:>7}"
    )


async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    users = await stack_.create_users(args.users, "soaker")
    names = {u: f"soaker{n}" for n, u in enumerate(users)}
    rng = random.Random(7)
    edges = {(a, b) for a in users for b in rng.sample(users, args.follows) if a != b}
    await stack_.follow_all(sorted(edges))
    subscribers = Subscribers()
    url = stack_.base.replace("http", "ws", 1) + "/graphql"
    await subscribers.connect(url, [stack_.token(u) for u in users[: args.sockets]], 50)
    server = stack_.processes[0].pid
    worker = stack_.processes[-1].pid  # the server itself when it runs the jobs
    traffic = Traffic(stack_, users, names)
    started = time.monotonic()
    stop = started + args.duration
    print(
        f"  {args.users} users, {len(edges)} follows, {len(subscribers.sockets)} websockets, "
        f"{args.clients} clients, {args.duration:g} s",
        flush=True,
    )
    print(
        "  minute requests errors limited       p50       p99  rss(MB)   fds worker(MB)  events",
        flush=True,
    )

    async def sample() -> None:
        seen = 0
        next_minute = started + 60
        while time.monotonic() < stop:
            await asyncio.sleep(args.sample)
            stack_.check_alive()
            minute = traffic.minutes[-1]
            minute.rss_mb.append(stack.rss_mb(server))
            minute.fds.append(_fds(server))
            minute.worker_rss_mb.append(stack.rss_mb(worker))
            total = sum(len(v) for v in subscribers.received.values())
            minute.events += total - seen
            seen = total
            if time.monotonic() >= next_minute:
                print(_row(len(traffic.minutes), minute), flush=True)
                traffic.minutes.append(Minute())
                next_minute += 60

    async with stack_.http(args.clients) as http:
        await asyncio.gather(
            sample(), *(traffic.client(http, stop, seed) for seed in range(args.clients))
        )
    await subscribers.close()
    full = [m for m in traffic.minutes if m.rss_mb]
    first, last = full[0], full[-1]
    if len(full) > 1 and len(last.rss_mb) < len(first.rss_mb):
        last = full[-2]  # a partial last minute says little

    def ratio(a: float, b: float) -> str:
        return f"{b / a:.2f}" if a else "n/a"

    errors = sum(m.errors for m in traffic.minutes)
    print("\n  first minute (baseline) and last full minute, side by side:")
    print(_row("first", first))
    print(_row("last", last))
    p99 = stack.quantile(first.latencies, 0.99), stack.quantile(last.latencies, 0.99)
    print(
        f"  ratios last/first: RSS {ratio(max(first.rss_mb), max(last.rss_mb))}, "
        f"fds {ratio(max(first.fds), max(last.fds))}, "
        f"worker RSS {ratio(max(first.worker_rss_mb), max(last.worker_rss_mb))}, "
        f"p99 {ratio(*p99)}; errors in the whole run: {errors}; "
        f"websocket errors: {len(subscribers.errors)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--follows", type=int, default=30, help="followees per user")
    parser.add_argument("--sockets", type=int, default=100, help="websockets connected")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    stack.add_common_options(parser)
    args = parser.parse_args()
    if not stack.real_engines() and args.workers:
        # The embedded event bus is in-process: live events need the jobs in the server.
        args.workers = 0
    stack.run(args, lambda s: _body(s, args))


if __name__ == "__main__":
    main()
