"""CassandraTimelineStore: user_timeline (home), author_timeline and reply_timeline, each a
partition per owner clustered by (created_at, tweet_id) descending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.cassandra.session import ONE, QUORUM, CassandraSession, gather, utc
from storage.ports import Position
from storage.records import TimelineEntry, TimelineKind

# kind -> (table, owner column, tweet column, author column or None when the owner is it)
_LAYOUT: dict[TimelineKind, tuple[str, str, str, str | None]] = {
    TimelineKind.HOME: ("user_timeline", "user_id", "tweet_id", "author_id"),
    TimelineKind.AUTHOR: ("author_timeline", "author_id", "tweet_id", None),
    TimelineKind.REPLIES: ("reply_timeline", "tweet_id", "reply_id", "author_id"),
}


class CassandraTimelineStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def push(
        self, kind: TimelineKind, owner_ids: Sequence[int], entry: TimelineEntry
    ) -> None:
        table, owner, tweet, author = _LAYOUT[kind]
        if author is None:
            cql = f"INSERT INTO {{ks}}.{table} ({owner}, created_at, {tweet}) VALUES (?, ?, ?)"
            rows: list[tuple[Any, ...]] = [(o, entry.created_at, entry.tweet_id) for o in owner_ids]
        else:
            cql = (
                f"INSERT INTO {{ks}}.{table} ({owner}, created_at, {tweet}, {author}) "
                "VALUES (?, ?, ?, ?)"
            )
            rows = [(o, entry.created_at, entry.tweet_id, entry.author_id) for o in owner_ids]
        # Timeline delivery is eventually consistent: a cheaper level, many partitions at once.
        await gather(self._db.run(cql, row, consistency=ONE) for row in rows)

    async def remove(
        self, kind: TimelineKind, owner_ids: Sequence[int], entries: Sequence[TimelineEntry]
    ) -> None:
        table, owner, tweet, _ = _LAYOUT[kind]
        cql = f"DELETE FROM {{ks}}.{table} WHERE {owner} = ? AND created_at = ? AND {tweet} = ?"
        await gather(
            self._db.run(cql, (o, e.created_at, e.tweet_id), consistency=QUORUM)
            for o in owner_ids
            for e in entries
        )

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
