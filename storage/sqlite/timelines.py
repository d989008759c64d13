"""SqliteTimelineStore: user_timeline (home), author_timeline and reply_timeline.

Each table is clustered like its Cassandra counterpart, (owner, created_at, tweet id), so
a page is one range scan of the primary key and `after` is a row-value comparison.

Home timelines are bounded: triggers keep each one's size in `home_timeline_sizes`, and the
push that takes a timeline past HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK trims it back to
HOME_TIMELINE_LENGTH in the same transaction (one statement for every owner of the push).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.ports import Deliveries, Position
from storage.records import (
    HOME_TIMELINE_LENGTH,
    HOME_TIMELINE_SLACK,
    TimelineEntry,
    TimelineKind,
    ms_from_utc,
    utc_from_ms,
)
from storage.sqlite.database import SqliteDatabase, Tx, chunked, placeholders


@dataclass(frozen=True)
class _Layout:
    table: str
    owner: str
    tweet: str
    # The author column; None where the owner is the author (author_timeline).
    author: str | None

    @property
    def author_expr(self) -> str:
        return self.author or self.owner


_LAYOUTS = {
    TimelineKind.HOME: _Layout("user_timeline", "user_id", "tweet_id", "author_id"),
    TimelineKind.AUTHOR: _Layout("author_timeline", "author_id", "tweet_id", None),
    TimelineKind.REPLIES: _Layout("reply_timeline", "tweet_id", "reply_id", "author_id"),
    TimelineKind.MENTIONS: _Layout("mention_timeline", "user_id", "tweet_id", "author_id"),
}


class SqliteTimelineStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def push(
        self, kind: TimelineKind, owner_ids: Sequence[int], entry: TimelineEntry
    ) -> None:
        await self.push_many(kind, [(entry, owner_ids)])

    async def push_many(self, kind: TimelineKind, deliveries: Deliveries) -> None:
        layout = _LAYOUTS[kind]
        if layout.author is None:
            sql = (
                f"INSERT OR IGNORE INTO {layout.table} "
                f"({layout.owner}, created_at, {layout.tweet}) VALUES (?, ?, ?)"
            )
            rows: list[tuple[int, ...]] = [
                (owner, ms_from_utc(entry.created_at), entry.tweet_id)
                for entry, owner_ids in deliveries
                for owner in owner_ids
            ]
        else:
            sql = (
                f"INSERT OR IGNORE INTO {layout.table} "
                f"({layout.owner}, created_at, {layout.tweet}, {layout.author}) VALUES (?, ?, ?, ?)"
            )
            rows = [
                (owner, ms_from_utc(entry.created_at), entry.tweet_id, entry.author_id)
                for entry, owner_ids in deliveries
                for owner in owner_ids
            ]
        if not rows:
            return
        async with self._db.write() as tx:
            await tx.run_many(sql, rows)
            if kind is TimelineKind.HOME:
                await _trim_outgrown(tx, [row[0] for row in rows])

    async def remove(
        self, kind: TimelineKind, owner_ids: Sequence[int], entries: Sequence[TimelineEntry]
    ) -> None:
        layout = _LAYOUTS[kind]
        sql = (
            f"DELETE FROM {layout.table} "
            f"WHERE {layout.owner} = ? AND created_at = ? AND {layout.tweet} = ?"
        )
        rows = [
            (owner, ms_from_utc(entry.created_at), entry.tweet_id)
            for owner in owner_ids
            for entry in entries
        ]
        if rows:
            async with self._db.write() as tx:
                await tx.run_many(sql, rows)

    async def page(
        self, kind: TimelineKind, owner_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        async with self._db.read() as tx:
            return await _page(tx, kind, owner_id, limit, after)

    async def pages(
        self, timelines: Sequence[tuple[TimelineKind, int]], limit: int, after: Position | None
    ) -> list[list[TimelineEntry]]:
        async with self._db.read() as tx:
            return [await _page(tx, kind, owner, limit, after) for kind, owner in timelines]

    async def trim(self, kind: TimelineKind, owner_id: int, keep: int) -> None:
        layout = _LAYOUTS[kind]
        async with self._db.write() as tx:
            if keep <= 0:
                await tx.run(f"DELETE FROM {layout.table} WHERE {layout.owner} = ?", (owner_id,))
                return
            await tx.run(_trim_sql(layout), (owner_id, keep - 1))

    async def evict_older(self, kind: TimelineKind, before: datetime) -> int:
        return 0  # no cache in front: every entry is read from these tables


async def _page(
    tx: Tx, kind: TimelineKind, owner_id: int, limit: int, after: Position | None
) -> list[TimelineEntry]:
    layout = _LAYOUTS[kind]
    if limit <= 0:
        return []
    where = f"{layout.owner} = ?"
    params: list[int] = [owner_id]
    if after is not None:
        where += f" AND (created_at, {layout.tweet}) < (?, ?)"
        params += [ms_from_utc(after[0]), after[1]]
    sql = (
        f"SELECT created_at, {layout.tweet} AS tweet_id, {layout.author_expr} AS author_id "
        f"FROM {layout.table} WHERE {where} "
        f"ORDER BY created_at DESC, {layout.tweet} DESC LIMIT ?"
    )
    rows = await tx.rows(sql, [*params, limit])
    return [
        TimelineEntry(utc_from_ms(row["created_at"]), row["tweet_id"], row["author_id"])
        for row in rows
    ]


def _trim_sql(layout: _Layout) -> str:
    """Everything strictly older than the keep-th newest entry (?2 is keep - 1) of owner ?1."""
    return (
        f"DELETE FROM {layout.table} WHERE {layout.owner} = ?1 AND (created_at, {layout.tweet}) < "
        f"(SELECT created_at, {layout.tweet} FROM {layout.table} WHERE {layout.owner} = ?1 "
        f"ORDER BY created_at DESC, {layout.tweet} DESC LIMIT 1 OFFSET ?2)"
    )


async def _trim_outgrown(tx: Tx, owner_ids: Sequence[int]) -> None:
    for chunk in chunked(list(dict.fromkeys(owner_ids))):
        outgrown = await tx.rows(
            "SELECT user_id FROM home_timeline_sizes "
            f"WHERE user_id IN ({placeholders(len(chunk))}) AND entries > ?",
            [*chunk, HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK],
        )
        if outgrown:
            await tx.run_many(
                _trim_sql(_LAYOUTS[TimelineKind.HOME]),
                [(row["user_id"], HOME_TIMELINE_LENGTH - 1) for row in outgrown],
            )
