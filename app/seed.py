"""`chirp seed`: realistic demo data, so a newcomer's GraphiQL shows a living timeline.

Followers follow a power law (a few accounts are followed by almost everyone, most by a
handful); the most followed accounts go over the celebrity threshold when there are enough
users; tweets carry hashtags, mentions, replies and likes. Everyone's password is
`chirp-demo`; log in as `user0`, `user1`, ...
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tqdm import tqdm

from app.container import Chirp
from app.ids import id_timestamp_ms
from app.passwords import hash_password
from app.services.reindex import ReindexUsers
from storage.errors import Conflict
from storage.records import UserRecord, utc_from_ms, utcnow

DEMO_PASSWORD = "chirp-demo"
HASHTAGS = [
    "python",
    "graphql",
    "cassandra",
    "coffee",
    "music",
    "football",
    "ai",
    "cats",
    "travel",
    "news",
]
WORDS = [
    "just",
    "shipped",
    "a",
    "new",
    "build",
    "of",
    "the",
    "timeline",
    "today",
    "and",
    "it",
    "feels",
    "fast",
    "who",
    "else",
    "is",
    "watching",
    "the",
    "match",
    "tonight",
    "the",
    "coffee",
    "here",
    "is",
    "great",
    "reading",
    "about",
    "distributed",
    "systems",
    "again",
    "my",
    "cat",
    "disagrees",
    "with",
    "everything",
]


# Writes in flight at once in the users, tweets and likes phases, as on a busy server.
CONCURRENCY = 32
# Edges per FollowGraph.follow_many call, and calls in flight. Edges are sorted by follower
# and batches are big, so a store can write the edges of one follower, and of one followee,
# together (Cassandra: `following` per follower, `followers` per followee).
FOLLOW_BATCH = 100_000
FOLLOW_BATCHES_IN_FLIGHT = 2
# Tweets posted together; a reply goes to a tweet of an earlier wave, already written.
TWEET_WAVE = 100

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SeedPlan:
    users: int = 12_000
    tweets: int = 3_000
    celebrities: int = 3
    likes_per_tweet: int = 3
    seed: int = 7


async def seed(chirp: Chirp, plan: SeedPlan) -> dict[str, int]:
    rng = random.Random(plan.seed)
    user_ids = await _users(chirp, plan, rng)
    follows = await _follows(chirp, plan, rng, user_ids)
    tweet_ids = await _tweets(chirp, plan, rng, user_ids)
    likes = await _likes(chirp, plan, rng, user_ids, tweet_ids)
    await _fan_out(chirp)
    await ReindexUsers(chirp.stores)()  # people search, with the final followers counts
    return {"users": len(user_ids), "follows": follows, "tweets": len(tweet_ids), "likes": likes}


async def _each(
    items: Sequence[T],
    work: Callable[[T], Awaitable[R]],
    done: Callable[[T], object],
    limit: int = CONCURRENCY,
) -> list[R]:
    """work(item) for every item, at most `limit` at once, calling done(item) after each;
    results in item order. The first failure cancels the rest."""
    results: dict[int, R] = {}
    todo = iter(enumerate(items))

    async def worker() -> None:
        for index, item in todo:  # one shared iterator: each item is taken once
            results[index] = await work(item)
            done(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(limit, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the first failure; it cancelled the rest
    return [results[index] for index in range(len(items))]


async def _users(chirp: Chirp, plan: SeedPlan, rng: random.Random) -> list[int]:
    password_hash = await hash_password(
        DEMO_PASSWORD
    )  # one hash: argon2 per user would take minutes
    bios = [
        rng.choice(["", "Coffee first.", "Building things.", "Opinions my own."]) or None
        for _ in range(plan.users)
    ]
    users = chirp.stores.users

    async def user_id(n: int) -> int:
        """A new user, or the one an earlier seed made: the name is claimed first either way,
        so asking for it before creating would cost every new user a round trip."""
        new_id = chirp.ids.next_id()
        at = utc_from_ms(id_timestamp_ms(new_id))
        try:
            await users.create(
                UserRecord(
                    id=new_id,
                    username=f"user{n}",
                    email=f"user{n}@example.com",
                    password_hash=password_hash,
                    display_name=f"User {n}" if n >= plan.celebrities else f"Famous {n}",
                    bio=bios[n],
                    verified=n < plan.celebrities,
                    created_at=at,
                    updated_at=at,
                )
            )
        except Conflict:  # the name or the email (a store may name either first)
            existing = await users.find_by_username(f"user{n}")
            if existing is None:
                raise
            return existing.id
        return new_id

    with tqdm(total=plan.users, desc="users", unit="user") as progress:
        return await _each(range(plan.users), user_id, lambda _: progress.update())


def _follow_edges(plan: SeedPlan, rng: random.Random, ids: list[int]) -> list[tuple[int, int]]:
    """Account k is followed by about N / (k+1)^1.1 others; celebrities by nearly everyone."""
    edges = []
    for rank, followee in enumerate(ids):
        share = 0.95 if rank < plan.celebrities else min(0.5, 3.0 / (rank + 1) ** 1.1 + 0.002)
        count = max(1, int(len(ids) * share))
        followers = rng.sample(ids, min(count, len(ids)))
        edges += [(follower, followee) for follower in followers if follower != followee]
    return edges


async def _follows(chirp: Chirp, plan: SeedPlan, rng: random.Random, ids: list[int]) -> int:
    """Edges go to the graph in batches, sorted by follower; the counts of each batch's new
    edges are summed per user and added in one call, so they stay exact."""
    edges = sorted(_follow_edges(plan, rng, ids))
    batches = [edges[start : start + FOLLOW_BATCH] for start in range(0, len(edges), FOLLOW_BATCH)]
    graph, users = chirp.stores.graph, chirp.stores.users

    async def follow(batch: Sequence[tuple[int, int]]) -> int:
        new = await graph.follow_many(batch, utcnow())
        deltas: defaultdict[int, Counter[str]] = defaultdict(Counter)
        for (follower, followee), is_new in zip(batch, new, strict=True):
            if is_new:
                deltas[follower]["following_count"] += 1
                deltas[followee]["followers_count"] += 1
        await users.add_to_stats_many(deltas)
        return sum(new)

    with tqdm(total=len(edges), desc="follows", unit="follow") as progress:
        added = await _each(
            batches, follow, lambda batch: progress.update(len(batch)), FOLLOW_BATCHES_IN_FLIGHT
        )
    return sum(added)


async def _tweets(chirp: Chirp, plan: SeedPlan, rng: random.Random, ids: list[int]) -> list[int]:
    post_tweet = chirp.services.post_tweet
    posted: list[int] = []

    async def post(draft: tuple[int, str, int | None]) -> int:
        author, text, reply_to = draft
        return (await post_tweet(author, text, reply_to_id=reply_to)).id

    with tqdm(total=plan.tweets, desc="tweets", unit="tweet") as progress:
        for start in range(0, plan.tweets, TWEET_WAVE):
            recent = posted[-200:]
            wave = [_draft(rng, ids, recent) for _ in range(min(TWEET_WAVE, plan.tweets - start))]
            posted += await _each(wave, post, lambda _: progress.update())
    return posted


def _draft(rng: random.Random, ids: list[int], recent: list[int]) -> tuple[int, str, int | None]:
    """(author, text, tweet replied to): authors on a power law, some hashtags and mentions."""
    author = ids[min(int(rng.paretovariate(1.2)) - 1, len(ids) - 1)]
    words = rng.sample(WORDS, rng.randint(4, 12))
    if rng.random() < 0.5:
        words.append(f"#{rng.choice(HASHTAGS)}")
    if rng.random() < 0.2:
        words.append(f"@user{rng.randrange(min(len(ids), 50))}")
    reply_to = rng.choice(recent) if recent and rng.random() < 0.2 else None
    return author, " ".join(words), reply_to


async def _likes(
    chirp: Chirp, plan: SeedPlan, rng: random.Random, ids: list[int], tweet_ids: list[int]
) -> int:
    like_tweet = chirp.services.like_tweet
    likes = [
        (liker, tweet_id)
        for tweet_id in tweet_ids
        for liker in rng.sample(ids, min(len(ids), rng.randint(0, plan.likes_per_tweet * 2)))
    ]
    rng.shuffle(likes)  # concurrent likes of one tweet would contend for its partition

    async def like(pair: tuple[int, int]) -> None:
        await like_tweet(*pair)

    with tqdm(total=len(likes), desc="likes", unit="like") as progress:
        await _each(likes, like, lambda _: progress.update())
    return len(likes)


async def _fan_out(chirp: Chirp) -> None:
    """Runs the queued jobs (fan-out, indexing) with the same concurrent worker as
    `chirp worker`, until every stream is empty."""
    worker = chirp.worker(name="seed")
    with tqdm(desc="jobs", unit="job") as progress:
        await worker.drain(progress.update)
