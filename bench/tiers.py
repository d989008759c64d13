"""The data lifecycle's tiers: what reading an archived (cold) tweet costs against a fresh one,
and what the pass that archives them costs against a pass with nothing to do.

The product runs with tiny thresholds (CHIRP_HOT_S=2, CHIRP_COLD_S=4, so tweets age in real
seconds) and no scheduled passes (CHIRP_LIFECYCLE_EVERY_S=0): the bench runs each pass
itself with the real command, `chirp lifecycle run`, a process of its own in the run's
environment.

  1. --authors "old" authors (20) post --tweets tweets between them (300, over HTTP). Set
     "old" is read while hot (`tweet(id)` per tweet, --rounds rounds, --clients at once; and
     every old author's profile), for reference. Then the bench waits until the tweets are
     past CHIRP_COLD_S and the server's L1 (60 s) has forgotten them, runs `chirp lifecycle
     run`, checks its summary says `cold: N moved` (N = --tweets) and that the tweets left
     the primary tables (no row, no author timeline entry; an archive pointer each).
  2. Baseline of the pass: --rounds more passes, each with nothing to do.
  3. --authors "new" authors post --tweets fresh tweets. No pass runs after that, so they
     stay where fresh tweets are (primary tables; Redis too on the real engines). Then
     --rounds alternating rounds read both sets the same way: `tweet(id) { id text
     createdAt likeCount author { username } }` of every tweet, and each author's profile
     `user(username) { tweets(first: --page, after: ...) }` paged to its end (checked:
     every tweet of the author once, newest first).

Reported: p50/p90 per read and per profile page for fresh and archived, their ratio, and
round 1 apart (an archived tweet read once is cached again like any tweet: the L1 for a
minute, Redis for an hour on the real engines, so the first round is the archive's cost);
the archiving pass's wall time and tweets moved per second against the no-op pass's.

    eval "$(scripts/services env)"     # or nothing, for the embedded default
    .venv/bin/python bench/tiers.py [--tweets 300] [--authors 20] [--rounds 3] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import stack

from app.archive import archive_key
from app.container import L1_TTL_S
from storage.records import TimelineKind

HOT_S = 2.0
COLD_S = 4.0
LIFECYCLE_WORKER_ID = 999  # Snowflake worker id of the `chirp lifecycle run` processes
FIELDS = "id databaseId text createdAt likeCount author { username }"
TWEET = f"query($id: ID!) {{ tweet(id: $id) {{ {FIELDS} }} }}"
PROFILE = f"""query($username: String!, $first: Int!, $after: String) {{
  user(username: $username) {{ tweets(first: $first, after: $after) {{
    edges {{ cursor node {{ {FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }} }} }} }}"""
_STEP = re.compile(r"^(\w+): (.*)$", re.M)
_MOVED = re.compile(r"\b(\d+) moved\b")


@dataclass(frozen=True)
class Posted:
    author: int
    username: str
    text: str


@dataclass
class Sample:
    """Latencies of one kind of read, by round (round 0 = the first)."""

    rounds: list[list[float]]

    def all(self) -> list[float]:
        return [value for one in self.rounds for value in one]

    def later(self) -> list[float]:
        return [value for one in self.rounds[1:] for value in one]


# ---------------------------------------------------------------------- setup
async def _post_set(
    stack_: stack.Stack, prefix: str, args: argparse.Namespace
) -> dict[int, Posted]:
    """--authors users named {prefix}N post --tweets tweets between them, round-robin (each
    author's tweets one after another); waits for their jobs to drain."""
    authors = await stack_.create_users(args.authors, prefix)
    names = {author: f"{prefix}{n}" for n, author in enumerate(authors)}
    tokens = {author: stack_.token(author) for author in authors}
    posted: dict[int, Posted] = {}
    async with stack_.http(16) as http:
        for start in range(0, args.tweets, len(authors)):
            batch = [
                (n, authors[n % len(authors)], f"{prefix} tweet {n}")
                for n in range(start, min(args.tweets, start + len(authors)))
            ]
            ids = await asyncio.gather(
                *(stack.post_tweet(http, tokens[author], text) for _, author, text in batch)
            )
            for (_, author, text), tweet_id in zip(batch, ids, strict=True):
                posted[tweet_id] = Posted(author, names[author], text)
        deadline = time.monotonic() + 600
        while (await stack_.backlog(http) or 0) > 0 and time.monotonic() < deadline:
            stack_.check_alive()
            await asyncio.sleep(0.2)
    return posted


def _by_author(posted: dict[int, Posted]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for tweet_id, tweet in posted.items():
        found.setdefault(tweet.username, set()).add(tweet_id)
    return found


# ---------------------------------------------------------------------- reads
async def _graphql(
    http: httpx2.AsyncClient, token: str, query: str, variables: dict[str, Any], what: str
) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    elapsed = time.monotonic() - started
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{what}: HTTP {response.status_code} {str(body)[:500]}")
    return elapsed, body["data"]


def _check(node: dict[str, Any] | None, tweet_id: int, want: Posted, what: str) -> None:
    if (
        node is None
        or int(node["databaseId"]) != tweet_id
        or node["text"] != want.text
        or node["author"]["username"] != want.username
    ):
        raise RuntimeError(f"{what}: read {node!r}, posted {want}")


async def _read_tweets(
    http: httpx2.AsyncClient, token: str, posted: dict[int, Posted], clients: int
) -> list[float]:
    """`tweet(id)` of every tweet, `clients` at once; each read checked against the post."""
    semaphore = asyncio.Semaphore(clients)

    async def one(tweet_id: int, want: Posted) -> float:
        async with semaphore:
            what = f"tweet(id: {tweet_id})"
            elapsed, data = await _graphql(http, token, TWEET, {"id": str(tweet_id)}, what)
        _check(data["tweet"], tweet_id, want, what)
        return elapsed

    return list(await asyncio.gather(*(one(i, want) for i, want in posted.items())))


async def _read_profiles(
    http: httpx2.AsyncClient,
    token: str,
    posted: dict[int, Posted],
    clients: int,
    page: int,
) -> list[float]:
    """Every author's profile paged to its end, `clients` authors at once; checks each
    author's tweets come back once each, newest first. Latency per page."""
    semaphore = asyncio.Semaphore(clients)
    latencies: list[float] = []

    async def one(username: str, want: set[int]) -> None:
        seen: list[int] = []
        after: str | None = None
        async with semaphore:
            for _ in range(len(want) // page + 3):
                variables = {"username": username, "first": page, "after": after}
                what = f"user({username}).tweets(after: {after})"
                elapsed, data = await _graphql(http, token, PROFILE, variables, what)
                latencies.append(elapsed)
                if data["user"] is None:
                    raise RuntimeError(f"{what}: user is null")
                timeline = data["user"]["tweets"]
                for edge in timeline["edges"]:
                    tweet_id = int(edge["node"]["databaseId"])
                    _check(edge["node"], tweet_id, posted[tweet_id], what)
                    seen.append(tweet_id)
                if not timeline["pageInfo"]["hasNextPage"]:
                    break
                after = timeline["pageInfo"]["endCursor"]
            else:
                raise RuntimeError(f"{username}'s profile did not end after {len(seen)} tweets")
        if seen != sorted(want, reverse=True):
            missing, extra = sorted(want - set(seen)), sorted(set(seen) - want)
            raise RuntimeError(
                f"{username}'s profile: {len(seen)} tweets of {len(want)} posted, "
                f"missing {missing[:5]}, extra {extra[:5]}, newest first: "
                f"{seen == sorted(seen, reverse=True)}, duplicates: {len(seen) - len(set(seen))}"
            )

    await asyncio.gather(*(one(name, ids) for name, ids in _by_author(posted).items()))
    return latencies


# ---------------------------------------------------------------------- lifecycle
def _lifecycle_pass(stack_: stack.Stack) -> tuple[float, dict[str, str]]:
    """`chirp lifecycle run` in the run's environment: (wall time, summary by step)."""
    env = {**stack_.env, "CHIRP_WORKER_ID": str(LIFECYCLE_WORKER_ID)}
    started = time.monotonic()
    done = subprocess.run(
        [str(stack.CHIRP), "lifecycle", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"chirp lifecycle run exited with {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return wall, dict(_STEP.findall(done.stdout))


def _summary(steps: dict[str, str]) -> str:
    return "; ".join(f"{step}: {what}" for step, what in steps.items())


async def _check_archived(stack_: stack.Stack, posted: dict[int, Posted]) -> None:
    """The tweets left the primary tables: no row, no author timeline entry, a pointer each."""
    assert stack_.stores is not None
    ids = list(posted)
    rows = await stack_.stores.tweets.get_many(ids)
    pointers = await stack_.stores.tweets.archived_many(ids)
    timelines = await stack_.stored_timelines()
    authors = {tweet.author for tweet in posted.values()}
    entries = 0
    for author in authors:
        entries += len(await timelines.page(TimelineKind.AUTHOR, author, len(ids), None))
    left = sum(row is not None for row in rows)
    unpointed = sum(pointer is None for pointer in pointers)
    print(
        f"  primary tables: {left} of {len(ids)} rows left, {entries} author timeline entries"
        f" left; {len(ids) - unpointed} archive pointers"
    )
    if left or entries or unpointed:
        raise RuntimeError("archived tweets are still in the primary tables, or lack pointers")


async def _remove_archives(stack_: stack.Stack, posted: dict[int, Posted]) -> None:
    """The run's cold archives (the media store is shared on the real engines)."""
    if stack_.stores is None or stack_.args.keep or not stack_.real:
        return
    stores = stack_.stores
    with contextlib.suppress(Exception):
        keys = [
            archive_key(author, month)
            for author in {tweet.author for tweet in posted.values()}
            for month in await stores.tweets.archived_months(author)
        ]
        await stores.media.delete_many(keys)


# ---------------------------------------------------------------------- report
def _line(label: str, values: Sequence[float], width: int = 34) -> str:
    p50, p90 = stack.quantile(values, 0.5), stack.quantile(values, 0.9)
    return f"  {label:<{width}} p50 {stack.ms(p50):>8}   p90 {stack.ms(p90):>8}   ({len(values)})"


def _ratio(cold: Sequence[float], hot: Sequence[float]) -> str:
    return f"{stack.quantile(cold, 0.5) / stack.quantile(hot, 0.5):.2f}x"


def _report(what: str, fresh: Sample, cold: Sample, before: list[float]) -> None:
    print(f"\n{what}:")
    print(_line("old set while hot (reference)", before))
    for n, (hot_round, cold_round) in enumerate(zip(fresh.rounds, cold.rounds, strict=True)):
        print(_line(f"round {n + 1}: fresh (hot)", hot_round))
        print(_line(f"round {n + 1}: archived (cold)", cold_round))
    print(_line("all rounds: fresh (hot, baseline)", fresh.all()))
    print(_line("all rounds: archived (cold)", cold.all()))
    print(
        f"  cold / hot (p50): all rounds {_ratio(cold.all(), fresh.all())}, "
        f"round 1 {_ratio(cold.rounds[0], fresh.rounds[0])}"
        + (f", later rounds {_ratio(cold.later(), fresh.later())}" if len(cold.rounds) > 1 else "")
    )


# ---------------------------------------------------------------------- body
async def _body(stack_: stack.Stack, args: argparse.Namespace) -> None:
    reader = stack_.token((await stack_.create_users(1, "reader"))[0])
    old = await _post_set(stack_, "old", args)
    try:
        await _measure(stack_, args, reader, old)
    finally:
        await _remove_archives(stack_, old)


async def _measure(
    stack_: stack.Stack, args: argparse.Namespace, reader: str, old: dict[int, Posted]
) -> None:
    posted_at = time.monotonic()
    print(f"  old set: {len(old)} tweets by {args.authors} authors")

    async with stack_.http(args.clients) as http:
        before_reads: list[float] = []
        before_pages: list[float] = []
        for _ in range(args.rounds):
            before_reads += await _read_tweets(http, reader, old, args.clients)
            before_pages += await _read_profiles(http, reader, old, args.clients, args.page)
        read_at = time.monotonic()
        wait = max(posted_at + COLD_S, read_at + L1_TTL_S) + 1 - time.monotonic()
        print(f"  waiting {wait:.0f} s: past CHIRP_COLD_S and the server's L1 ({L1_TTL_S:g} s)")
        await asyncio.sleep(max(0.0, wait))

        stack_.check_alive()
        wall, steps = await asyncio.to_thread(_lifecycle_pass, stack_)
        print(f"  archiving pass: {_summary(steps)}")
        moved = _MOVED.search(steps.get("cold", ""))
        if moved is None or int(moved.group(1)) != len(old):
            raise RuntimeError(f"expected `cold: {len(old)} moved`, got {steps.get('cold')!r}")
        await _check_archived(stack_, old)
        idle: list[float] = []
        for _ in range(args.rounds):
            idle_wall, idle_steps = await asyncio.to_thread(_lifecycle_pass, stack_)
            idle.append(idle_wall)
            if any(what != "nothing to do" for what in idle_steps.values()):
                print(f"  note: a pass meant to have nothing to do did: {_summary(idle_steps)}")

        fresh = await _post_set(stack_, "new", args)
        print(f"  fresh set: {len(fresh)} tweets by {args.authors} other authors")
        reads = {"hot": Sample([]), "cold": Sample([])}
        pages = {"hot": Sample([]), "cold": Sample([])}
        for _ in range(args.rounds):
            for name, posted in (("hot", fresh), ("cold", old)):
                reads[name].rounds.append(await _read_tweets(http, reader, posted, args.clients))
            for name, posted in (("hot", fresh), ("cold", old)):
                pages[name].rounds.append(
                    await _read_profiles(http, reader, posted, args.clients, args.page)
                )

    print(f"\nlifecycle pass (`chirp lifecycle run`, a process of its own, {stack_.describe()}):")
    noop = stack.median(idle)
    net = (
        f"{len(old) / (wall - noop):.0f}/s net of the no-op pass"
        if wall > noop
        else "no slower than the no-op pass"
    )
    print(
        f"  {f'archiving {len(old)} tweets':<30} wall {wall:6.2f} s   "
        f"{len(old) / wall:.0f} tweets/s ({net})"
    )
    print(
        f"  {'nothing to do (baseline)':<30} wall {noop:6.2f} s   "
        f"(median of {len(idle)}: {', '.join(f'{s:.2f}' for s in idle)})"
    )
    print(f"  archiving / no-op: {wall / noop:.2f}x")
    _report(
        f"tweet(id), {len(old)} tweets a set, {args.clients} clients, per read "
        f"({args.rounds} alternating rounds)",
        reads["hot"],
        reads["cold"],
        before_reads,
    )
    _report(
        f"profile pages, user.tweets(first: {args.page}) to the end, {args.authors} authors "
        f"a set, {args.clients} at once, per page",
        pages["hot"],
        pages["cold"],
        before_pages,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tweets", type=int, default=300, help="tweets a set (old and fresh)")
    parser.add_argument("--authors", type=int, default=20, help="authors a set")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--page", type=int, default=20, help="profile page size (first:)")
    stack.add_common_options(parser)
    args = parser.parse_args()
    extra = {
        "CHIRP_HOT_S": f"{HOT_S:g}",
        "CHIRP_COLD_S": f"{COLD_S:g}",
        "CHIRP_LIFECYCLE_EVERY_S": "0",
        "CHIRP_READ_POINTS_PER_HOUR": "1000000000",
    }
    stack.run(args, lambda s: _body(s, args), extra)


if __name__ == "__main__":
    main()
