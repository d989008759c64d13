"""SqliteEngagementStore: likes / user_likes, retweets / user_retweets and tweet counters;
the tweets quoting each tweet (quote_timeline) and bookmarks.

The counter moves in the same transaction as the row, and only when the row was new
(INSERT OR IGNORE changed something) or really removed (DELETE ... RETURNING found it),
so retries and concurrent duplicates never count twice. Who liked or retweeted a tweet is
read from the likes and retweets tables themselves, through an index in time order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

from storage.listings import Listing
from storage.ports import Position
from storage.records import EngagementEdge, TimelineEntry, TweetCounts, ms_from_utc, utc_from_ms
from storage.sqlite.database import SqliteDatabase, Tx, chunked, placeholders


class SqliteEngagementStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def like(self, user_id: int, tweet_id: int, at: datetime) -> bool:
        moment = ms_from_utc(at)
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT OR IGNORE INTO likes (tweet_id, user_id, liked_at) VALUES (?, ?, ?)",
                (tweet_id, user_id, moment),
            )
            if added:
                await tx.run(
                    "INSERT OR IGNORE INTO user_likes (user_id, liked_at, tweet_id) "
                    "VALUES (?, ?, ?)",
                    (user_id, moment, tweet_id),
                )
                await _add_to_counter(tx, "likes_count", tweet_id, 1)
        return added == 1

    async def unlike(self, user_id: int, tweet_id: int) -> bool:
        async with self._db.write() as tx:
            row = await tx.row(
                "DELETE FROM likes WHERE tweet_id = ? AND user_id = ? RETURNING liked_at",
                (tweet_id, user_id),
            )
            if row is None:
                return False
            await tx.run(
                "DELETE FROM user_likes WHERE user_id = ? AND liked_at = ? AND tweet_id = ?",
                (user_id, row["liked_at"], tweet_id),
            )
            await _add_to_counter(tx, "likes_count", tweet_id, -1)
        return True

    async def retweet(self, user_id: int, tweet_id: int, retweet_id: int, at: datetime) -> bool:
        moment = ms_from_utc(at)
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT OR IGNORE INTO retweets (tweet_id, user_id, retweeted_at, retweet_id) "
                "VALUES (?, ?, ?, ?)",
                (tweet_id, user_id, moment, retweet_id),
            )
            if added:
                await tx.run(
                    "INSERT OR IGNORE INTO user_retweets "
                    "(user_id, retweeted_at, tweet_id, retweet_id) VALUES (?, ?, ?, ?)",
                    (user_id, moment, tweet_id, retweet_id),
                )
                await _add_to_counter(tx, "retweets_count", tweet_id, 1)
        return added == 1

    async def undo_retweet(self, user_id: int, tweet_id: int) -> int | None:
        async with self._db.write() as tx:
            row = await tx.row(
                "DELETE FROM retweets WHERE tweet_id = ? AND user_id = ? "
                "RETURNING retweeted_at, retweet_id",
                (tweet_id, user_id),
            )
            if row is None:
                return None
            await tx.run(
                "DELETE FROM user_retweets WHERE user_id = ? AND retweeted_at = ? AND tweet_id = ?",
                (user_id, row["retweeted_at"], tweet_id),
            )
            await _add_to_counter(tx, "retweets_count", tweet_id, -1)
        return int(row["retweet_id"])

    async def liked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._which("likes", user_id, tweet_ids)

    async def retweeted_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._which("retweets", user_id, tweet_ids)

    async def _which(self, table: str, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        found: set[int] = set()
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(tweet_ids))):
                sql = (
                    f"SELECT tweet_id FROM {table} "
                    f"WHERE user_id = ? AND tweet_id IN ({placeholders(len(chunk))})"
                )
                found.update(row["tweet_id"] for row in await tx.rows(sql, [user_id, *chunk]))
        return [tweet_id in found for tweet_id in tweet_ids]

    async def counts_many(self, tweet_ids: Sequence[int]) -> list[TweetCounts]:
        found: dict[int, TweetCounts] = {}
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(tweet_ids))):
                sql = (
                    "SELECT tweet_id, likes_count, retweets_count, replies_count, views_count "
                    f"FROM tweets WHERE tweet_id IN ({placeholders(len(chunk))})"
                )
                for row in await tx.rows(sql, chunk):
                    found[row["tweet_id"]] = TweetCounts(
                        row["tweet_id"],
                        likes=row["likes_count"],
                        retweets=row["retweets_count"],
                        replies=row["replies_count"],
                        views=row["views_count"],
                    )
        return [found.get(tweet_id) or TweetCounts(tweet_id) for tweet_id in tweet_ids]

    async def add_counts(self, tweet_id: int, replies: int = 0, views: int = 0) -> None:
        if not replies and not views:
            return
        async with self._db.write() as tx:
            await tx.run(
                "UPDATE tweets SET replies_count = replies_count + ?, "
                "views_count = views_count + ? WHERE tweet_id = ?",
                (replies, views, tweet_id),
            )

    async def add_views_many(self, views: Mapping[int, int]) -> None:
        """One transaction for the lot: a flush of views is one write, however many tweets."""
        rows = [(count, tweet_id) for tweet_id, count in views.items() if count]
        if not rows:
            return
        async with self._db.write() as tx:
            await tx.run_many(
                "UPDATE tweets SET views_count = views_count + ? WHERE tweet_id = ?", rows
            )

    async def likes_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """The author comes from the tweets table; likes of tweets it lacks are left out."""
        if limit <= 0:
            return []
        where = "l.user_id = ?"
        params: list[int] = [user_id]
        if after is not None:
            where += " AND (l.liked_at, l.tweet_id) < (?, ?)"
            params += [ms_from_utc(after[0]), after[1]]
        sql = (
            "SELECT l.liked_at, l.tweet_id, t.user_id AS author_id FROM user_likes l "
            f"JOIN tweets t ON t.tweet_id = l.tweet_id WHERE {where} "
            "ORDER BY l.liked_at DESC, l.tweet_id DESC LIMIT ?"
        )
        async with self._db.read() as tx:
            rows = await tx.rows(sql, [*params, limit])
        return [
            TimelineEntry(utc_from_ms(row["liked_at"]), row["tweet_id"], row["author_id"])
            for row in rows
        ]

    async def likers_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        rows = await self._newest(_LIKERS, tweet_id, limit, after)
        return _edges(tweet_id, rows)

    async def retweeters_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        rows = await self._newest(_RETWEETERS, tweet_id, limit, after)
        return _edges(tweet_id, rows)

    async def add_quote(self, quoted_id: int, quote: TimelineEntry) -> None:
        async with self._db.write() as tx:
            await tx.run(
                "INSERT OR IGNORE INTO quote_timeline (tweet_id, created_at, quote_id, author_id) "
                "VALUES (?, ?, ?, ?)",
                (quoted_id, ms_from_utc(quote.created_at), quote.tweet_id, quote.author_id),
            )

    async def remove_quote(self, quoted_id: int, quote: TimelineEntry) -> None:
        async with self._db.write() as tx:
            await tx.run(
                "DELETE FROM quote_timeline WHERE tweet_id = ? AND created_at = ? AND quote_id = ?",
                (quoted_id, ms_from_utc(quote.created_at), quote.tweet_id),
            )

    async def forget_tweet(self, tweet_id: int) -> None:
        """Likers and retweeters are read from the likes and retweets rows themselves and
        the counters live in the tweet's row (removed by the tweet store): only the quotes
        list is left."""
        async with self._db.write() as tx:
            await tx.run("DELETE FROM quote_timeline WHERE tweet_id = ?", (tweet_id,))

    async def quotes_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        return _entries(await self._newest(_QUOTES, tweet_id, limit, after))

    async def bookmark(self, user_id: int, tweet_id: int, author_id: int, at: datetime) -> bool:
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT OR IGNORE INTO bookmarks (user_id, tweet_id, author_id, bookmarked_at) "
                "VALUES (?, ?, ?, ?)",
                (user_id, tweet_id, author_id, ms_from_utc(at)),
            )
        return added == 1

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM bookmarks WHERE user_id = ? AND tweet_id = ?", (user_id, tweet_id)
            )
        return removed == 1

    async def bookmarked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._which("bookmarks", user_id, tweet_ids)

    async def bookmarks_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        return _entries(await self._newest(_BOOKMARKS, user_id, limit, after))

    async def _newest(
        self, listing: Listing, key: int, limit: int, after: Position | None
    ) -> list[sqlite3.Row]:
        """One key's rows of a listing, by (time, id) descending, strictly after `after`."""
        if limit <= 0:
            return []
        where = f"{listing.key} = ?"
        params: list[int] = [key]
        if after is not None:
            where += f" AND ({listing.time}, {listing.id}) < (?, ?)"
            params += [ms_from_utc(after[0]), after[1]]
        sql = (
            f"SELECT {listing.columns} FROM {listing.table} WHERE {where} "
            f"ORDER BY {listing.time} DESC, {listing.id} DESC LIMIT ?"
        )
        async with self._db.read() as tx:
            return await tx.rows(sql, [*params, limit])


_LIKERS = Listing("likes", "tweet_id", "liked_at", "user_id", "liked_at AS at, user_id")
_RETWEETERS = Listing(
    "retweets", "tweet_id", "retweeted_at", "user_id", "retweeted_at AS at, user_id"
)
_QUOTES = Listing(
    "quote_timeline",
    "tweet_id",
    "created_at",
    "quote_id",
    "created_at AS at, quote_id AS tweet_id, author_id",
)
_BOOKMARKS = Listing(
    "bookmarks", "user_id", "bookmarked_at", "tweet_id", "bookmarked_at AS at, tweet_id, author_id"
)


def _edges(tweet_id: int, rows: list[sqlite3.Row]) -> list[EngagementEdge]:
    return [EngagementEdge(tweet_id, row["user_id"], utc_from_ms(row["at"])) for row in rows]


def _entries(rows: list[sqlite3.Row]) -> list[TimelineEntry]:
    return [
        TimelineEntry(utc_from_ms(row["at"]), row["tweet_id"], row["author_id"]) for row in rows
    ]


async def _add_to_counter(tx: Tx, column: str, tweet_id: int, delta: int) -> None:
    # Clamped at zero: a counter is never shown negative, whatever happened before.
    await tx.run(
        f"UPDATE tweets SET {column} = MAX({column} + ?, 0) WHERE tweet_id = ?",
        (delta, tweet_id),
    )
