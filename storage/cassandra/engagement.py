"""CassandraEngagementStore: likes / user_likes, retweets / user_retweets and the
tweet_counts counter table. A row is claimed with a lightweight transaction and the counter
moves only for the call that claimed it, so retries and races never count twice.

The lists are tables clustered newest first: tweet_likers and tweet_retweeters (written and
removed with the claim they mirror), tweet_quotes, and bookmarks (claimed in
bookmark_times). A page is one read of one partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.cassandra.session import CassandraSession, gather, utc
from storage.errors import Unavailable
from storage.listings import Listing
from storage.ports import Position
from storage.records import EngagementEdge, TimelineEntry, TweetCounts

log = logging.getLogger(__name__)


class CassandraEngagementStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def _count(self, tweet_id: int, column: str, delta: int) -> None:
        await self._db.run(
            f"UPDATE {{ks}}.tweet_counts SET {column} = {column} + ? WHERE tweet_id = ?",
            (delta, tweet_id),
            idempotent=False,  # a counter update must never be retried blindly
        )

    async def _count_after(self, tweet_id: int, column: str, delta: int) -> None:
        """A like's or retweet's count, moved once its rows (the truth) are all written.

        Cassandra picks the replica that applies a counter update at random among those it
        believes alive, so for the seconds a dead node takes to be convicted (gossip's
        failure detector) an update can time out, applied or not, and it must not be
        retried. The engagement is stored by then: the request succeeds and the count is
        left behind by `delta`, logged (README, "Replication and failover")."""
        try:
            await self._count(tweet_id, column, delta)
        except Unavailable as error:
            log.warning("tweet %s: %s count not moved by %+d (%s)", tweet_id, column, delta, error)

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
        await asyncio.gather(
            self._db.run(
                "INSERT INTO {ks}.user_likes (user_id, liked_at, tweet_id, author_id) "
                "VALUES (?, ?, ?, ?)",
                (user_id, at, tweet_id, author),
            ),
            self._db.run(
                "INSERT INTO {ks}.tweet_likers (tweet_id, liked_at, user_id) VALUES (?, ?, ?)",
                (tweet_id, at, user_id),
            ),
        )
        if author is not None:  # likes of tweets this store does not hold move no counter
            await self._count_after(tweet_id, "likes", 1)
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
            liked_at = rows[0]["liked_at"]
            await asyncio.gather(
                self._db.run(
                    "DELETE FROM {ks}.user_likes "
                    "WHERE user_id = ? AND liked_at = ? AND tweet_id = ?",
                    (user_id, liked_at, tweet_id),
                ),
                self._db.run(
                    "DELETE FROM {ks}.tweet_likers "
                    "WHERE tweet_id = ? AND liked_at = ? AND user_id = ?",
                    (tweet_id, liked_at, user_id),
                ),
            )
            if await self._author(tweet_id) is not None:
                await self._count_after(tweet_id, "likes", -1)
        return removed

    async def retweet(self, user_id: int, tweet_id: int, retweet_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.retweets (tweet_id, user_id, retweeted_at, retweet_id) "
            "VALUES (?, ?, ?, ?) IF NOT EXISTS",
            (tweet_id, user_id, at, retweet_id),
        )
        if not added:
            return False
        await asyncio.gather(
            self._db.run(
                "INSERT INTO {ks}.user_retweets (user_id, retweeted_at, tweet_id, retweet_id) "
                "VALUES (?, ?, ?, ?)",
                (user_id, at, tweet_id, retweet_id),
            ),
            self._db.run(
                "INSERT INTO {ks}.tweet_retweeters (tweet_id, retweeted_at, user_id) "
                "VALUES (?, ?, ?)",
                (tweet_id, at, user_id),
            ),
        )
        if await self._author(tweet_id) is not None:
            await self._count_after(tweet_id, "retweets", 1)
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
        retweeted_at = rows[0]["retweeted_at"]
        await asyncio.gather(
            self._db.run(
                "DELETE FROM {ks}.user_retweets "
                "WHERE user_id = ? AND retweeted_at = ? AND tweet_id = ?",
                (user_id, retweeted_at, tweet_id),
            ),
            self._db.run(
                "DELETE FROM {ks}.tweet_retweeters "
                "WHERE tweet_id = ? AND retweeted_at = ? AND user_id = ?",
                (tweet_id, retweeted_at, user_id),
            ),
        )
        if await self._author(tweet_id) is not None:
            await self._count_after(tweet_id, "retweets", -1)
        return int(rows[0]["retweet_id"])

    async def liked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._present("likes", user_id, tweet_ids)

    async def retweeted_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        return await self._present("retweets", user_id, tweet_ids)

    async def _present(self, table: str, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        """One multi-partition read per hundred tweets (`tweet_id IN ? AND user_id = ?`):
        the coordinator asks each partition, and the client pays for one request, not one
        per tweet (the driver's cost per request is what a page's time went to)."""
        pages = await gather(
            self._db.run(
                f"SELECT tweet_id FROM {{ks}}.{table} WHERE tweet_id IN ? AND user_id = ?",
                (chunk, user_id),
            )
            for chunk in _in_chunks(tweet_ids)
        )
        found = {row["tweet_id"] for rows in pages for row in rows}
        return [tweet_id in found for tweet_id in tweet_ids]

    async def counts_many(self, tweet_ids: Sequence[int]) -> list[TweetCounts]:
        """One multi-partition read per hundred tweets, as `_present`."""
        pages = await gather(
            self._db.run(
                "SELECT tweet_id, likes, retweets, replies, views FROM {ks}.tweet_counts "
                "WHERE tweet_id IN ?",
                (chunk,),
            )
            for chunk in _in_chunks(tweet_ids)
        )
        found = {row["tweet_id"]: _counts(row["tweet_id"], row) for rows in pages for row in rows}
        return [found.get(tweet_id) or TweetCounts(tweet_id) for tweet_id in tweet_ids]

    async def add_counts(self, tweet_id: int, replies: int = 0, views: int = 0) -> None:
        if await self._author(tweet_id) is None:
            return
        if replies:
            await self._count(tweet_id, "replies", replies)
        if views:
            await self._count(tweet_id, "views", views)

    async def add_views_many(self, views: Mapping[int, int]) -> None:
        """Counter batches grouped by replica (`run_many`), after one read per tweet that
        leaves out those the store does not hold, as `add_counts` does."""
        wanted = [(tweet_id, count) for tweet_id, count in views.items() if count]
        authors = await gather(self._author(tweet_id) for tweet_id, _ in wanted)
        rows = [
            (count, tweet_id)
            for (tweet_id, count), author in zip(wanted, authors, strict=True)
            if author is not None
        ]
        await self._db.run_many(
            "UPDATE {ks}.tweet_counts SET views = views + ? WHERE tweet_id = ?", rows, counter=True
        )

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

    async def likers_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        return _edges(tweet_id, await self._newest(_LIKERS, tweet_id, limit, after))

    async def retweeters_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[EngagementEdge]:
        return _edges(tweet_id, await self._newest(_RETWEETERS, tweet_id, limit, after))

    async def add_quote(self, quoted_id: int, quote: TimelineEntry) -> None:
        await self._db.run(
            "INSERT INTO {ks}.tweet_quotes (quoted_id, created_at, quote_id, author_id) "
            "VALUES (?, ?, ?, ?)",
            (quoted_id, quote.created_at, quote.tweet_id, quote.author_id),
        )

    async def forget_tweet(self, tweet_id: int) -> None:
        await asyncio.gather(
            self._db.run("DELETE FROM {ks}.tweet_counts WHERE tweet_id = ?", (tweet_id,)),
            self._db.run("DELETE FROM {ks}.tweet_likers WHERE tweet_id = ?", (tweet_id,)),
            self._db.run("DELETE FROM {ks}.tweet_retweeters WHERE tweet_id = ?", (tweet_id,)),
            self._db.run("DELETE FROM {ks}.tweet_quotes WHERE quoted_id = ?", (tweet_id,)),
        )

    async def remove_quote(self, quoted_id: int, quote: TimelineEntry) -> None:
        await self._db.run(
            "DELETE FROM {ks}.tweet_quotes WHERE quoted_id = ? AND created_at = ? AND quote_id = ?",
            (quoted_id, quote.created_at, quote.tweet_id),
        )

    async def quotes_page(
        self, tweet_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        return _entries(await self._newest(_QUOTES, tweet_id, limit, after))

    async def bookmark(self, user_id: int, tweet_id: int, author_id: int, at: datetime) -> bool:
        """Claimed in `bookmark_times` (a lightweight transaction), then listed."""
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.bookmark_times (user_id, tweet_id, bookmarked_at, author_id) "
            "VALUES (?, ?, ?, ?) IF NOT EXISTS",
            (user_id, tweet_id, at, author_id),
        )
        if added:
            await self._db.run(
                "INSERT INTO {ks}.bookmarks (user_id, bookmarked_at, tweet_id, author_id) "
                "VALUES (?, ?, ?, ?)",
                (user_id, at, tweet_id, author_id),
            )
        return added

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        """The claim says when it was made: the listing row is found by that time."""
        rows = await self._db.run(
            "SELECT bookmarked_at FROM {ks}.bookmark_times WHERE user_id = ? AND tweet_id = ?",
            (user_id, tweet_id),
        )
        if not rows:
            return False
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.bookmark_times WHERE user_id = ? AND tweet_id = ? IF EXISTS",
            (user_id, tweet_id),
        )
        if removed:
            await self._db.run(
                "DELETE FROM {ks}.bookmarks "
                "WHERE user_id = ? AND bookmarked_at = ? AND tweet_id = ?",
                (user_id, rows[0]["bookmarked_at"], tweet_id),
            )
        return removed

    async def bookmarked_many(self, user_id: int, tweet_ids: Sequence[int]) -> list[bool]:
        """One read of the owner's partition per hundred tweets."""
        pages = await gather(
            self._db.run(
                "SELECT tweet_id FROM {ks}.bookmark_times WHERE user_id = ? AND tweet_id IN ?",
                (user_id, chunk),
            )
            for chunk in _in_chunks(tweet_ids)
        )
        found = {row["tweet_id"] for rows in pages for row in rows}
        return [tweet_id in found for tweet_id in tweet_ids]

    async def bookmarks_page(
        self, user_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        return _entries(await self._newest(_BOOKMARKS, user_id, limit, after))

    async def _newest(
        self, listing: Listing, key: int, limit: int, after: Position | None
    ) -> list[dict[str, Any]]:
        """One partition of a listing, in its clustering order (time, id) descending,
        strictly after `after`."""
        if limit <= 0:
            return []
        cql = f"SELECT {listing.columns} FROM {{ks}}.{listing.table} WHERE {listing.key} = ?"
        params: tuple[Any, ...] = (key,)
        if after is not None:
            cql += f" AND ({listing.time}, {listing.id}) < (?, ?)"
            params += (after[0], after[1])
        return await self._db.run(cql + " LIMIT ?", (*params, limit))


_IN_LIMIT = 100  # keys of one IN read


def _in_chunks(ids: Sequence[int]) -> list[list[int]]:
    """The distinct ids, in lists of at most _IN_LIMIT (one IN read each)."""
    unique = list(dict.fromkeys(ids))
    return [unique[start : start + _IN_LIMIT] for start in range(0, len(unique), _IN_LIMIT)]


_LIKERS = Listing("tweet_likers", "tweet_id", "liked_at", "user_id", "liked_at AS at, user_id")
_RETWEETERS = Listing(
    "tweet_retweeters", "tweet_id", "retweeted_at", "user_id", "retweeted_at AS at, user_id"
)
_QUOTES = Listing(
    "tweet_quotes",
    "quoted_id",
    "created_at",
    "quote_id",
    "created_at AS at, quote_id AS tweet_id, author_id",
)
_BOOKMARKS = Listing(
    "bookmarks", "user_id", "bookmarked_at", "tweet_id", "bookmarked_at AS at, tweet_id, author_id"
)


def _edges(tweet_id: int, rows: list[dict[str, Any]]) -> list[EngagementEdge]:
    return [EngagementEdge(tweet_id, row["user_id"], _at(row)) for row in rows]


def _entries(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    return [TimelineEntry(_at(row), row["tweet_id"], row["author_id"]) for row in rows]


def _at(row: dict[str, Any]) -> datetime:
    moment = utc(row["at"])
    assert moment is not None  # a clustering column is never null
    return moment


def _counts(tweet_id: int, row: dict[str, Any]) -> TweetCounts:
    return TweetCounts(
        tweet_id,
        likes=row["likes"] or 0,
        retweets=row["retweets"] or 0,
        replies=row["replies"] or 0,
        views=row["views"] or 0,
    )
