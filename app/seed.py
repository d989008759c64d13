"""`chirp seed`: realistic demo data, so a newcomer's GraphiQL shows a living timeline.

Followers follow a power law (a few accounts are followed by almost everyone, most by a
handful); the most followed accounts go over the celebrity threshold when there are enough
users; tweets carry hashtags, mentions, replies and likes. Everyone's password is
`chirp-demo`; log in as `user0`, `user1`, ...
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tqdm import tqdm

from app.container import Chirp
from app.ids import id_timestamp_ms
from app.passwords import hash_password
from app.worker import Worker
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
    posted = await _tweets(chirp, plan, rng, user_ids)
    await _fan_out(chirp)
    return {"users": len(user_ids), "follows": follows, "tweets": posted}


async def _users(chirp: Chirp, plan: SeedPlan, rng: random.Random) -> list[int]:
    password_hash = await hash_password(
        DEMO_PASSWORD
    )  # one hash: argon2 per user would take minutes
    ids = []
    for n in tqdm(range(plan.users), desc="users", unit="user"):
        user_id = chirp.ids.next_id()
        at = utc_from_ms(id_timestamp_ms(user_id))
        existing = await chirp.stores.users.find_by_username(f"user{n}")
        if existing is not None:
            ids.append(existing.id)
            continue
        await chirp.stores.users.create(
            UserRecord(
                id=user_id,
                username=f"user{n}",
                email=f"user{n}@example.com",
                password_hash=password_hash,
                display_name=f"User {n}" if n >= plan.celebrities else f"Famous {n}",
                bio=rng.choice(["", "Coffee first.", "Building things.", "Opinions my own."])
                or None,
                verified=n < plan.celebrities,
                created_at=at,
                updated_at=at,
            )
        )
        ids.append(user_id)
    return ids


async def _follows(chirp: Chirp, plan: SeedPlan, rng: random.Random, ids: list[int]) -> int:
    """Account k is followed by about N / (k+1)^1.1 others; celebrities by nearly everyone."""
    total = 0
    graph, users = chirp.stores.graph, chirp.stores.users
    for rank, followee in enumerate(tqdm(ids, desc="follows", unit="user")):
        share = 0.95 if rank < plan.celebrities else min(0.5, 3.0 / (rank + 1) ** 1.1 + 0.002)
        count = max(1, int(len(ids) * share))
        followers = rng.sample(ids, min(count, len(ids)))
        added = 0
        for follower in followers:
            if follower != followee and await graph.follow(follower, followee, utcnow()):
                await users.add_to_stats(follower, {"following_count": 1})
                added += 1
        await users.add_to_stats(followee, {"followers_count": added})
        total += added
    return total


async def _tweets(chirp: Chirp, plan: SeedPlan, rng: random.Random, ids: list[int]) -> int:
    services = chirp.services
    recent: list[int] = []
    for _ in tqdm(range(plan.tweets), desc="tweets", unit="tweet"):
        author = ids[min(int(rng.paretovariate(1.2)) - 1, len(ids) - 1)]
        words = rng.sample(WORDS, rng.randint(4, 12))
        if rng.random() < 0.5:
            words.append(f"#{rng.choice(HASHTAGS)}")
        if rng.random() < 0.2:
            words.append(f"@user{rng.randrange(min(len(ids), 50))}")
        reply_to = rng.choice(recent) if recent and rng.random() < 0.2 else None
        tweet = await services.post_tweet(author, " ".join(words), reply_to_id=reply_to)
        recent = [*recent, tweet.id][-200:]
        for liker in rng.sample(ids, min(len(ids), rng.randint(0, plan.likes_per_tweet * 2))):
            await services.like_tweet(liker, tweet.id)
    return plan.tweets


async def _fan_out(chirp: Chirp) -> None:
    worker = Worker(chirp.stores.queue, chirp.services.fan_out, name="seed", batch=64)
    with tqdm(desc="fan-out", unit="job") as progress:
        while taken := await worker.run_once():
            progress.update(taken)
