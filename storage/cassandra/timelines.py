"""CassandraTimelineStore: user_timeline (home), author_timeline and reply_timeline, each a
partition per owner clustered by (created_at, tweet_id) descending.

A push to many owners (of one entry or of many) goes out as replica-grouped UNLOGGED
batches. Home timelines are bounded: the same push adds what each owner got to its
`home_timeline_sizes` counter (one update per owner, batched too),
reads the counters back in one query per hundred owners, and trims the timelines that hold
more than HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK back to HOME_TIMELINE_LENGTH.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.cassandra.session import ONE, QUORUM, CassandraSession, gather, utc
from storage.errors import Unavailable
from storage.ports import Deliveries, Position
from storage.records import (
    HOME_TIMELINE_LENGTH,
    HOME_TIMELINE_SLACK,
    TimelineEntry,
    TimelineKind,
)

log = logging.getLogger(__name__)

SIZES_PER_READ = 100
_GROW = "UPDATE {ks}.home_timeline_sizes SET pushed = pushed + ? WHERE user_id = ?"
_SHRINK = "UPDATE {ks}.home_timeline_sizes SET pushed = pushed - ? WHERE user_id = ?"
_SIZES = "SELECT user_id, pushed FROM {ks}.home_timeline_sizes WHERE user_id IN ?"

# kind -> (table, owner column, tweet column, author column or None when the owner is it)
_LAYOUT: dict[TimelineKind, tuple[str, str, str, str | None]] = {
    TimelineKind.HOME: ("user_timeline", "user_id", "tweet_id", "author_id"),
    TimelineKind.AUTHOR: ("author_timeline", "author_id", "tweet_id", None),
    TimelineKind.REPLIES: ("reply_timeline", "tweet_id", "reply_id", "author_id"),
    TimelineKind.MENTIONS: ("mention_timeline", "user_id", "tweet_id", "author_id"),
}


class CassandraTimelineStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def push(
        self, kind: TimelineKind, owner_ids: Sequence[int], entry: TimelineEntry
    ) -> None:
        await self.push_many(kind, [(entry, owner_ids)])

    async def push_many(self, kind: TimelineKind, deliveries: Deliveries) -> None:
        table, owner, tweet, author = _LAYOUT[kind]
        pairs = [(o, entry) for entry, owner_ids in deliveries for o in owner_ids]
        if author is None:
            cql = f"INSERT INTO {{ks}}.{table} ({owner}, created_at, {tweet}) VALUES (?, ?, ?)"
            rows: list[tuple[Any, ...]] = [(o, e.created_at, e.tweet_id) for o, e in pairs]
        else:
            cql = (
                f"INSERT INTO {{ks}}.{table} ({owner}, created_at, {tweet}, {author}) "
                "VALUES (?, ?, ?, ?)"
            )
            rows = [(o, e.created_at, e.tweet_id, e.author_id) for o, e in pairs]
        # Timeline delivery is eventually consistent: a cheaper level, many partitions at once.
        if kind is not TimelineKind.HOME:
            await self._db.run_many(cql, rows, consistency=ONE)
            return
        # One counter update per owner, however many entries it got. The entries must be
        # written; the counter only says when to trim. An update Cassandra's randomly picked
        # replica did not answer (a node dead and not convicted yet) leaves it behind, which
        # only delays a trim: logged, not failed, for it must not be retried.
        grown = Counter(o for o, _ in pairs)
        written, counted = await asyncio.gather(
            self._db.run_many(cql, rows, consistency=ONE),
            self._db.run_many(
                _GROW, [(n, o) for o, n in grown.items()], consistency=ONE, counter=True
            ),
            return_exceptions=True,
        )
        if isinstance(written, BaseException):
            raise written
        if isinstance(counted, Unavailable):
            log.warning("home timeline sizes of %d owners left behind (%s)", len(grown), counted)
        elif isinstance(counted, BaseException):
            raise counted
        await self._trim_outgrown(list(grown))

    async def _trim_outgrown(self, owners: list[int]) -> None:
        limit = HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK
        chunks = [owners[i : i + SIZES_PER_READ] for i in range(0, len(owners), SIZES_PER_READ)]
        found = await gather(self._db.run(_SIZES, (chunk,), consistency=ONE) for chunk in chunks)
        outgrown = [
            (row["user_id"], row["pushed"])
            for rows in found
            for row in rows
            if (row["pushed"] or 0) > limit
        ]
        await gather(self._trim_home(owner, pushed) for owner, pushed in outgrown)

    async def _trim_home(self, owner_id: int, counted: int) -> None:
        await self.trim(TimelineKind.HOME, owner_id, HOME_TIMELINE_LENGTH)
        # What the counter held beyond the bound was just trimmed (pushes since count on).
        await self._db.run(
            _SHRINK, (counted - HOME_TIMELINE_LENGTH, owner_id), consistency=ONE, idempotent=False
        )

    async def remove(
        self, kind: TimelineKind, owner_ids: Sequence[int], entries: Sequence[TimelineEntry]
    ) -> None:
        table, owner, tweet, _ = _LAYOUT[kind]
        cql = f"DELETE FROM {{ks}}.{table} WHERE {owner} = ? AND created_at = ? AND {tweet} = ?"
        rows = [(o, e.created_at, e.tweet_id) for o in owner_ids for e in entries]
        await self._db.run_many(cql, rows, consistency=QUORUM)

    async def page(
        self, kind: TimelineKind, owner_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        if limit <= 0:
            return []
        table, owner, tweet, author = _LAYOUT[kind]
        columns = f"created_at, {tweet} AS tweet_id" + (
            f", {author} AS author_id" if author else ""
        )
        if after is None:
            cql = f"SELECT {columns} FROM {{ks}}.{table} WHERE {owner} = ? LIMIT ?"
            params: tuple[Any, ...] = (owner_id, limit)
        else:
            cql = (
                f"SELECT {columns} FROM {{ks}}.{table} WHERE {owner} = ? "
                f"AND (created_at, {tweet}) < (?, ?) LIMIT ?"
            )
            params = (owner_id, after[0], after[1], limit)
        rows = await self._db.run(cql, params, consistency=ONE)
        return [
            TimelineEntry(
                created_at=utc(row["created_at"]),  # type: ignore[arg-type]
                tweet_id=row["tweet_id"],
                author_id=row["author_id"] if author else owner_id,
            )
            for row in rows
        ]

    async def pages(
        self, timelines: Sequence[tuple[TimelineKind, int]], limit: int, after: Position | None
    ) -> list[list[TimelineEntry]]:
        return list(
            await asyncio.gather(
                *(self.page(kind, owner, limit, after) for kind, owner in timelines)
            )
        )

    async def trim(self, kind: TimelineKind, owner_id: int, keep: int) -> None:
        table, owner, tweet, _ = _LAYOUT[kind]
        if keep <= 0:
            await self._db.run(f"DELETE FROM {{ks}}.{table} WHERE {owner} = ?", (owner_id,))
            return
        kept = await self.page(kind, owner_id, keep)
        if len(kept) < keep:
            return
        last = kept[-1]
        # One range tombstone for everything older than the last entry kept.
        await self._db.run(
            f"DELETE FROM {{ks}}.{table} WHERE {owner} = ? AND (created_at, {tweet}) < (?, ?)",
            (owner_id, last.created_at, last.tweet_id),
        )

    async def evict_older(self, kind: TimelineKind, before: datetime) -> int:
        return 0  # no cache in front: every entry is read from these tables
