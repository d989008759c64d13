"""CassandraEngagementStore: likes / user_likes, retweets / user_retweets and the
tweet_counts counter table. A row is claimed with a lightweight transaction and the counter
moves only for the call that claimed it, so retries and races never count twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.cassandra.session import CassandraSession, gather, utc
from storage.ports import Position
from storage.records import TimelineEntry, TweetCounts


class CassandraEngagementStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def _count(self, tweet_id: int, column: str, delta: int) -> None:
        await self._db.run(
            f"UPDATE {{ks}}.tweet_counts SET {column} = {column} + ? WHERE tweet_id = ?",
            (delta, tweet_id),
            idempotent=False,  # a counter update must never be retried blindly
        )

    async def _author(self, tweet_id: int) -> int | None:
        rows = await self._db.run("SELECT user_id FROM {ks}.tweets WHERE tweet_id = ?", (tweet_id,))
        return rows[0]["user_id"] if rows else None

    async def like(self, user_id: int, tweet_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.likes (tweet_id, user_id, liked_at) VALUES (?, ?, ?) IF NOT EXISTS",
            (tweet_id, user_id, at),
        )
        if not added:
            return False
        author = await self._author(tweet_id)
        if author is not None:  # likes of tweets this store does not hold move no counter
            await self._count(tweet_id, "likes", 1)
        await self._db.run(
            "INSERT INTO {ks}.user_likes (user_id, liked_at, tweet_id, author_id) "
            "VALUES (?, ?, ?, ?)",
            (user_id, at, tweet_id, author),
        )
        return True

    async def unlike(self, user_id: int, tweet_id: int) -> bool:
        rows = await self._db.run(
            "SELECT liked_at FROM {ks}.likes WHERE tweet_id = ? AND user_id = ?",
            (tweet_id, user_id),
        )
        if not rows:
            return False
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.likes WHERE tweet_id = ? AND user_id = ? IF EXISTS",
            (tweet_id, user_id),
        )
        if removed:
            if await self._author(tweet_id) is not None:
                await self._count(tweet_id, "likes", -1)
            await self._db.run(
                "DELETE FROM {ks}.user_likes WHERE user_id = ? AND liked_at = ? AND tweet_id = ?",
                (user_id, rows[0]["liked_at"], tweet_id),
            )
        return removed

    async def retweet(self, user_id: int, tweet_id: int, retweet_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.retweets (tweet_id, user_id, retweeted_at, retweet_id) "
            "VALUES (?, ?, ?, ?) IF NOT EXISTS",
            (tweet_id, user_id, at, retweet_id),
        )
        if not added:
            return False
        if await self._author(tweet_id) is not None:
            await self._count(tweet_id, "retweets", 1)
        await self._db.run(
            "INSERT INTO {ks}.user_retweets (user_id, retweeted_at, tweet_id, retweet_id) "
            "VALUES (?, ?, ?, ?)",
            (user_id, at, tweet_id, retweet_id),
        )
        return True

    async def undo_retweet(self, user_id: int, tweet_id: int) -> int | None:
        rows = await self._db.run(
            "SELECT retweeted_at, retweet_id FROM {ks}.retweets WHERE tweet_id = ? AND user_id = ?",
            (tweet_id, user_id),
        )
        if not rows:
            return None
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.retweets WHERE tweet_id = ? AND user_id = ? IF EXISTS",
            (tweet_id, user_id),
        )
        if not removed:
            return None
        if await self._author(tweet_id) is not None:
            await self._count(tweet_id, "retweets", -1)
        await self._db.run(
            "DELETE FROM {ks}.user_retweets "
            "WHERE user_id = ? AND retweeted_at = ? AND tweet_id = ?",
            (user_id, rows[0]["retweeted_at"], tweet_id),
        )
        return int(rows[0]["retweet_id"])

    async def liked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._present("likes", user_id, tweet_ids)

    async def retweeted_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._present("retweets", user_id, tweet_ids)

    async def _present(self, table: str, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        unique = list(dict.fromkeys(tweet_ids))
        rows = await gather(
            self._db.run(
                f"SELECT user_id FROM {{ks}}.{table} WHERE tweet_id = ? AND user_id = ?",
                (tweet_id, user_id),
            )
            for tweet_id in unique
        )
        found = {tweet_id for tweet_id, r in zip(unique, rows, strict=True) if r}
        return [tweet_id in found for tweet_id in tweet_ids]

    async def counts_many(self, tweet_ids: Sequence[int]) -> list[TweetCounts]:
        unique = list(dict.fromkeys(tweet_ids))
        rows = await gather(
            self._db.run(
                "SELECT likes, retweets, replies, views FROM {ks}.tweet_counts WHERE tweet_id = ?",
                (tweet_id,),
            )
            for tweet_id in unique
        )
        found = {
            tweet_id: _counts(tweet_id, r[0]) for tweet_id, r in zip(unique, rows, strict=True) if r
        }
        return [found.get(tweet_id) or TweetCounts(tweet_id) for tweet_id in tweet_ids]

    async def add_counts(self, tweet_id: int, replies: int = 0, views: int = 0) -> None:
        if await self._author(tweet_id) is None:
            return
        if replies:
            await self._count(tweet_id, "replies", replies)
        if views:
            await self._count(tweet_id, "views", views)

    async def likes_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        if limit <= 0:
            return []
        if after is None:
            cql = (
                "SELECT liked_at, tweet_id, author_id FROM {ks}.user_likes "
                "WHERE user_id = ? LIMIT ?"
            )
            params: tuple[Any, ...] = (user_id, limit)
        else:
            cql = (
                "SELECT liked_at, tweet_id, author_id FROM {ks}.user_likes WHERE user_id = ? "
                "AND (liked_at, tweet_id) < (?, ?) LIMIT ?"
            )
            params = (user_id, after[0], after[1], limit)
        rows = await self._db.run(cql, params)
        return [
            TimelineEntry(utc(row["liked_at"]), row["tweet_id"], row["author_id"])  # type: ignore[arg-type]
            for row in rows
            if row["author_id"] is not None
        ]


def _counts(tweet_id: int, row: dict[str, Any]) -> TweetCounts:
    return TweetCounts(
        tweet_id,
        likes=row["likes"] or 0,
        retweets=row["retweets"] or 0,
        replies=row["replies"] or 0,
        views=row["views"] or 0,
    )
