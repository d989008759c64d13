"""SqliteTweetStore: tweets and their idempotency keys."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.records import (
    ArchivedTweet,
    ConversationEntry,
    TweetRecord,
    ms_from_utc,
    utc_from_ms,
)
from storage.sqlite.database import SqliteDatabase, Tx, chunked, placeholders

_COLUMNS = (
    "tweet_id, user_id, text, created_at, updated_at, reply_to_tweet_id, reply_to_user_id, "
    "retweet_of_tweet_id, quote_tweet_id, media_urls, hashtags, mentions, language, source, "
    "is_deleted, conversation_id"
)

# What a thaw writes back into a hollow row (drop_rows).
_CONTENT = (
    "text",
    "updated_at",
    "media_urls",
    "hashtags",
    "mentions",
    "language",
    "source",
    "is_deleted",
)


def _tweet(row: sqlite3.Row) -> TweetRecord:
    return TweetRecord(
        id=row["tweet_id"],
        user_id=row["user_id"],
        text=row["text"],
        created_at=utc_from_ms(row["created_at"]),
        updated_at=utc_from_ms(row["updated_at"]),
        reply_to_tweet_id=row["reply_to_tweet_id"],
        reply_to_user_id=row["reply_to_user_id"],
        retweet_of_tweet_id=row["retweet_of_tweet_id"],
        quote_tweet_id=row["quote_tweet_id"],
        media_urls=tuple(json.loads(row["media_urls"])),
        hashtags=tuple(json.loads(row["hashtags"])),
        mentions=tuple(json.loads(row["mentions"])),
        language=row["language"],
        source=row["source"],
        is_deleted=bool(row["is_deleted"]),
        conversation_id=row["conversation_id"],
    )


def _values(tweet: TweetRecord) -> list[object]:
    return [
        tweet.id, tweet.user_id, tweet.text, ms_from_utc(tweet.created_at),
        ms_from_utc(tweet.updated_at), tweet.reply_to_tweet_id, tweet.reply_to_user_id,
        tweet.retweet_of_tweet_id, tweet.quote_tweet_id, json.dumps(list(tweet.media_urls)),
        json.dumps(list(tweet.hashtags)), json.dumps(list(tweet.mentions)), tweet.language,
        tweet.source, tweet.is_deleted, tweet.conversation_id,
    ]  # fmt: skip


class SqliteTweetStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def ping(self) -> None:
        async with self._db.read() as tx:
            await tx.row("SELECT 1")

    async def create(
        self, tweet: TweetRecord, idempotency_key: str | None = None
    ) -> tuple[TweetRecord, bool]:
        """Write the tweet, or return the one already made by this author with this key (or
        with this id: a retried write of the same tweet changes nothing) and False."""
        async with self._db.write() as tx:
            if idempotency_key is not None:
                earlier = await _tweet_for_key(tx, tweet.user_id, idempotency_key)
                if earlier is not None:
                    return earlier, False
            inserted = await tx.run(
                f"INSERT INTO tweets ({_COLUMNS}) VALUES ({placeholders(16)}) "
                "ON CONFLICT (tweet_id) DO NOTHING",
                _values(tweet),
            )
            if not inserted:
                row = await tx.row(f"SELECT {_COLUMNS} FROM tweets WHERE tweet_id = ?", (tweet.id,))
                assert row is not None  # the conflicting row is there: we hold the write lock
                return _tweet(row), False
            if idempotency_key is not None:
                await tx.run(
                    "INSERT INTO tweet_idempotency_keys (author_id, key, tweet_id, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (tweet.user_id, idempotency_key, tweet.id, ms_from_utc(tweet.created_at)),
                )
        return tweet, True

    async def get_many(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        found: dict[int, TweetRecord] = {}
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(ids))):
                marks = placeholders(len(chunk))
                sql = f"SELECT {_COLUMNS} FROM tweets WHERE tweet_id IN ({marks}) AND NOT archived"
                for row in await tx.rows(sql, chunk):
                    found[row["tweet_id"]] = _tweet(row)
        return [found.get(tweet_id) for tweet_id in ids]

    async def conversation(self, conversation_id: int, limit: int) -> list[ConversationEntry]:
        async with self._db.read() as tx:
            rows = await tx.rows(
                "SELECT tweet_id, reply_to_tweet_id, user_id, created_at, is_deleted FROM tweets "
                "WHERE conversation_id = ? ORDER BY tweet_id LIMIT ?",
                (conversation_id, limit),
            )
        return [
            ConversationEntry(
                tweet_id=row["tweet_id"],
                parent_id=row["reply_to_tweet_id"],
                author_id=row["user_id"],
                created_at=utc_from_ms(row["created_at"]),
                deleted=bool(row["is_deleted"]),
            )
            for row in rows
        ]

    async def scan(self, after: int | None, limit: int) -> list[TweetRecord]:
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_COLUMNS} FROM tweets WHERE tweet_id > ? AND NOT archived "
                "ORDER BY tweet_id LIMIT ?",
                (-1 if after is None else after, limit),
            )
        return [_tweet(row) for row in rows]

    async def mark_deleted(self, tweet_id: int, at: datetime) -> bool:
        async with self._db.write() as tx:
            changed = await tx.run(
                "UPDATE tweets SET is_deleted = 1, updated_at = ? "
                "WHERE tweet_id = ? AND is_deleted = 0",
                (ms_from_utc(at), tweet_id),
            )
        return changed == 1

    async def restore(self, tweet_id: int) -> bool:
        async with self._db.write() as tx:
            changed = await tx.run(
                "UPDATE tweets SET is_deleted = 0 WHERE tweet_id = ? AND is_deleted = 1",
                (tweet_id,),
            )
        return changed == 1

    async def purge(self, tweet: TweetRecord) -> None:
        async with self._db.write() as tx:
            await tx.run(
                "DELETE FROM tweet_idempotency_keys WHERE author_id = ? AND tweet_id = ?",
                (tweet.user_id, tweet.id),
            )
            await tx.run("DELETE FROM tweets WHERE tweet_id = ?", (tweet.id,))

    async def drop_rows(self, tweet_ids: Sequence[int]) -> None:
        """The row stays hollow (see migration 0016): its counters, author and thread are
        where the engagement store and conversations read them."""
        async with self._db.write() as tx:
            for chunk in chunked(list(dict.fromkeys(tweet_ids))):
                await tx.run(
                    "UPDATE tweets SET text = '', media_urls = '[]', hashtags = '[]', "
                    f"mentions = '[]', archived = 1 WHERE tweet_id IN ({placeholders(len(chunk))})",
                    chunk,
                )

    async def put_back(self, tweets: Sequence[TweetRecord]) -> None:
        if not tweets:
            return
        restored = ", ".join(f"{column} = excluded.{column}" for column in _CONTENT)
        async with self._db.write() as tx:
            await tx.run_many(
                f"INSERT INTO tweets ({_COLUMNS}) VALUES ({placeholders(16)}) "
                f"ON CONFLICT (tweet_id) DO UPDATE SET {restored}, archived = 0",
                [_values(tweet) for tweet in tweets],
            )

    async def add_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        if not pointers:
            return
        async with self._db.write() as tx:
            await tx.run_many(
                "INSERT OR REPLACE INTO archived_tweets (tweet_id, author_id, month) "
                "VALUES (?, ?, ?)",
                [(p.tweet_id, p.author_id, p.month) for p in pointers],
            )
            await tx.run_many(
                "INSERT OR IGNORE INTO archived_months (author_id, month) VALUES (?, ?)",
                list({(p.author_id, p.month) for p in pointers}),
            )

    async def archived_many(self, tweet_ids: Sequence[int]) -> list[ArchivedTweet | None]:
        found: dict[int, ArchivedTweet] = {}
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(tweet_ids))):
                rows = await tx.rows(
                    "SELECT tweet_id, author_id, month FROM archived_tweets "
                    f"WHERE tweet_id IN ({placeholders(len(chunk))})",
                    chunk,
                )
                for row in rows:
                    found[row["tweet_id"]] = ArchivedTweet(
                        row["tweet_id"], row["author_id"], row["month"]
                    )
        return [found.get(tweet_id) for tweet_id in tweet_ids]

    async def archived_months(self, author_id: int) -> list[str]:
        async with self._db.read() as tx:
            rows = await tx.rows(
                "SELECT month FROM archived_months WHERE author_id = ? ORDER BY month DESC",
                (author_id,),
            )
        return [row["month"] for row in rows]

    async def remove_archived(self, pointers: Sequence[ArchivedTweet]) -> None:
        if pointers:
            async with self._db.write() as tx:
                await tx.run_many(
                    "DELETE FROM archived_tweets WHERE tweet_id = ?",
                    [(p.tweet_id,) for p in pointers],
                )

    async def remove_archived_months(self, author_id: int, months: Sequence[str]) -> None:
        if months:
            async with self._db.write() as tx:
                await tx.run_many(
                    "DELETE FROM archived_months WHERE author_id = ? AND month = ?",
                    [(author_id, month) for month in months],
                )


async def _tweet_for_key(tx: Tx, author_id: int, key: str) -> TweetRecord | None:
    row = await tx.row(
        f"SELECT {', '.join('t.' + c.strip() for c in _COLUMNS.split(','))} "
        "FROM tweet_idempotency_keys k JOIN tweets t ON t.tweet_id = k.tweet_id "
        "WHERE k.author_id = ? AND k.key = ?",
        (author_id, key),
    )
    return None if row is None else _tweet(row)
