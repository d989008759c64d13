"""CassandraTweetStore: tweets by id, idempotency keys claimed with lightweight transactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.cassandra.session import CassandraSession, gather, utc
from storage.records import ArchivedTweet, ConversationEntry, TweetRecord

_COLUMNS = (
    "tweet_id, user_id, text, created_at, updated_at, reply_to_tweet_id, reply_to_user_id, "
    "retweet_of_tweet_id, quote_tweet_id, media_urls, hashtags, mentions, language, source, "
    "is_deleted, conversation_id"
)
_INSERT = f"INSERT INTO {{ks}}.tweets ({_COLUMNS}) VALUES ({', '.join('?' * 16)}) IF NOT EXISTS"
_THREAD_ROW = (
    "INSERT INTO {ks}.conversation_tweets "
    "(conversation_id, tweet_id, parent_id, author_id, created_at, deleted) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT = f"SELECT {_COLUMNS} FROM {{ks}}.tweets WHERE tweet_id = ?"


def _tweet(row: dict[str, Any]) -> TweetRecord:
    return TweetRecord(
        id=row["tweet_id"],
        user_id=row["user_id"],
        text=row["text"],
        created_at=utc(row["created_at"]),  # type: ignore[arg-type]
        updated_at=utc(row["updated_at"]),  # type: ignore[arg-type]
        reply_to_tweet_id=row["reply_to_tweet_id"],
        reply_to_user_id=row["reply_to_user_id"],
        retweet_of_tweet_id=row["retweet_of_tweet_id"],
        quote_tweet_id=row["quote_tweet_id"],
        media_urls=tuple(row["media_urls"] or ()),
        hashtags=tuple(row["hashtags"] or ()),
        mentions=tuple(row["mentions"] or ()),
        language=row["language"],
        source=row["source"],
        is_deleted=bool(row["is_deleted"]),
        conversation_id=row["conversation_id"],
    )


def _values(tweet: TweetRecord) -> list[Any]:
    return [
        tweet.id, tweet.user_id, tweet.text, tweet.created_at, tweet.updated_at,
        tweet.reply_to_tweet_id, tweet.reply_to_user_id, tweet.retweet_of_tweet_id,
        tweet.quote_tweet_id, list(tweet.media_urls), list(tweet.hashtags),
        list(tweet.mentions), tweet.language, tweet.source, tweet.is_deleted,
        tweet.conversation_id,
    ]  # fmt: skip


class CassandraTweetStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def ping(self) -> None:
        await self._db.run("SELECT release_version FROM system.local", ())

    async def create(
        self, tweet: TweetRecord, idempotency_key: str | None = None
    ) -> tuple[TweetRecord, bool]:
        """The tweet row first, then the key: a key's tweet always exists, so a losing retry
        can read the winner's at once (and removes its own row, never seen by anyone)."""
        inserted, existing = await self._db.applied(_INSERT, _values(tweet))
        if not inserted:
            await self._in_thread(_tweet(existing))  # a retry completes a write that died
            return _tweet(existing), False
        await self._in_thread(tweet)
        if idempotency_key is None:
            return tweet, True
        claimed, holder = await self._db.applied(
            "INSERT INTO {ks}.tweet_idempotency_keys (user_id, key, tweet_id) "
            "VALUES (?, ?, ?) IF NOT EXISTS",
            (tweet.user_id, idempotency_key, tweet.id),
        )
        if claimed:
            return tweet, True
        await self._db.run("DELETE FROM {ks}.tweets WHERE tweet_id = ?", (tweet.id,))
        if tweet.conversation_id is not None:
            await self._db.run(
                "DELETE FROM {ks}.conversation_tweets WHERE conversation_id = ? AND tweet_id = ?",
                (tweet.conversation_id, tweet.id),
            )
        [first] = await self.get_many([holder["tweet_id"]])
        if first is None:  # the key's tweet was purged: the key is free again
            reclaimed, _ = await self._db.applied(
                "UPDATE {ks}.tweet_idempotency_keys SET tweet_id = ? "
                "WHERE user_id = ? AND key = ? IF tweet_id = ?",
                (tweet.id, tweet.user_id, idempotency_key, holder["tweet_id"]),
            )
            if reclaimed:
                await self._db.applied(_INSERT, _values(tweet))
                await self._in_thread(tweet)
                return tweet, True
            return await self.create(tweet, idempotency_key)
        return first, False

    async def get_many(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        unique = list(dict.fromkeys(ids))
        rows = await gather(self._db.run(_SELECT, (tweet_id,)) for tweet_id in unique)
        found = {tweet_id: _tweet(r[0]) for tweet_id, r in zip(unique, rows, strict=True) if r}
        return [found.get(tweet_id) for tweet_id in ids]

    async def _in_thread(self, tweet: TweetRecord) -> None:
        """The tweet's row in its thread's partition (idempotent)."""
        if tweet.conversation_id is None:
            return
        await self._db.run(
            _THREAD_ROW,
            (
                tweet.conversation_id,
                tweet.id,
                tweet.reply_to_tweet_id,
                tweet.user_id,
                tweet.created_at,
                tweet.is_deleted,
            ),
        )

    async def conversation(self, conversation_id: int, limit: int) -> list[ConversationEntry]:
        rows = await self._db.run(
            "SELECT tweet_id, parent_id, author_id, created_at, deleted "
            "FROM {ks}.conversation_tweets WHERE conversation_id = ? LIMIT ?",
            (conversation_id, limit),
        )
        return [
            ConversationEntry(
                tweet_id=row["tweet_id"],
                parent_id=row["parent_id"],
                author_id=row["author_id"],
                created_at=utc(row["created_at"]),  # type: ignore[arg-type]
                deleted=bool(row["deleted"]),
            )
            for row in rows
            if row["author_id"] is not None  # never a half-written row
        ]

    async def scan(self, after: int | None, limit: int) -> list[TweetRecord]:
        """In token order: the partitioner's order is the only one a full scan has."""
        if after is None:
            rows = await self._db.run(f"SELECT {_COLUMNS} FROM {{ks}}.tweets LIMIT ?", (limit,))
        else:
            rows = await self._db.run(
                f"SELECT {_COLUMNS} FROM {{ks}}.tweets WHERE token(tweet_id) > token(?) LIMIT ?",
                (after, limit),
            )
        return [_tweet(row) for row in rows]

    async def mark_deleted(self, tweet_id: int, at: datetime) -> bool:
        """A conditional update: of concurrent deletions exactly one applies."""
        applied, _ = await self._db.applied(
            "UPDATE {ks}.tweets SET is_deleted = true, deleted_at = ?, updated_at = ? "
            "WHERE tweet_id = ? IF is_deleted = false",
            (at, at, tweet_id),
        )
        [tweet] = await self.get_many([tweet_id])
        if tweet is not None and tweet.conversation_id is not None:
            # Also when not applied: a retried deletion completes its thread's row.
            await self._db.run(
                "UPDATE {ks}.conversation_tweets SET deleted = true "
                "WHERE conversation_id = ? AND tweet_id = ?",
                (tweet.conversation_id, tweet_id),
            )
        return applied

    async def restore(self, tweet_id: int) -> bool:
        """Conditional like mark_deleted: of concurrent restores exactly one applies."""
        applied, _ = await self._db.applied(
            "UPDATE {ks}.tweets SET is_deleted = false, deleted_at = null "
            "WHERE tweet_id = ? IF is_deleted = true",
            (tweet_id,),
        )
        [tweet] = await self.get_many([tweet_id])
        if tweet is not None and not tweet.is_deleted and tweet.conversation_id is not None:
            await self._db.run(
                "UPDATE {ks}.conversation_tweets SET deleted = false "
                "WHERE conversation_id = ? AND tweet_id = ?",
                (tweet.conversation_id, tweet_id),
            )
        return applied

    async def purge(self, tweet: TweetRecord) -> None:
        """The idempotency key cannot be found by tweet (its partition is the key): a key
        whose tweet is gone is claimed again by the next create that uses it."""
        if tweet.conversation_id is not None:
            await self._db.run(
                "DELETE FROM {ks}.conversation_tweets WHERE conversation_id = ? AND tweet_id = ?",
                (tweet.conversation_id, tweet.id),
            )
        await self._db.run("DELETE FROM {ks}.tweets WHERE tweet_id = ?", (tweet.id,))

    async def drop_rows(self, tweet_ids: Sequence[int]) -> None:
        await gather(
            self._db.run("DELETE FROM {ks}.tweets WHERE tweet_id = ?", (tweet_id,))
            for tweet_id in dict.fromkeys(tweet_ids)
        )

    async def put_back(self, tweets: Sequence[TweetRecord]) -> None:
        await gather(self.create(tweet) for tweet in tweets)

    async def add_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        await gather(
            self._db.run(
                "INSERT INTO {ks}.archived_tweets (tweet_id, author_id, month) VALUES (?, ?, ?)",
                (p.tweet_id, p.author_id, p.month),
            )
            for p in pointers
        )
        await gather(
            self._db.run(
                "INSERT INTO {ks}.archived_months (author_id, month) VALUES (?, ?)",
                (author_id, month),
            )
            for author_id, month in {(p.author_id, p.month) for p in pointers}
        )

    async def archived_many(self, tweet_ids: Sequence[int]) -> list[ArchivedTweet | None]:
        unique = list(dict.fromkeys(tweet_ids))
        rows = await gather(
            self._db.run(
                "SELECT tweet_id, author_id, month FROM {ks}.archived_tweets WHERE tweet_id = ?",
                (tweet_id,),
            )
            for tweet_id in unique
        )
        found = {
            tweet_id: ArchivedTweet(tweet_id, r[0]["author_id"], r[0]["month"])
            for tweet_id, r in zip(unique, rows, strict=True)
            if r
        }
        return [found.get(tweet_id) for tweet_id in tweet_ids]

    async def archived_months(self, author_id: int) -> list[str]:
        rows = await self._db.run(
            "SELECT month FROM {ks}.archived_months WHERE author_id = ?", (author_id,)
        )
        return [row["month"] for row in rows]

    async def remove_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        await gather(
            self._db.run("DELETE FROM {ks}.archived_tweets WHERE tweet_id = ?", (p.tweet_id,))
            for p in pointers
        )

    async def remove_archived_months(self, author_id: int, months: Sequence[str]) -> None:
        await gather(
            self._db.run(
                "DELETE FROM {ks}.archived_months WHERE author_id = ? AND month = ?",
                (author_id, month),
            )
            for month in months
        )
