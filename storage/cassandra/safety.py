"""CassandraSafetyStore: `blocks` decides (a lightweight transaction, so a repeated or
concurrent block is new exactly once) and `blocked_by` mirrors it; mutes and muted words
live in their owner's partition, written USING TTL when they expire. Everything is read and
written at QUORUM: blocks are a privacy rule.

Each table of mutes and words is written only by lightweight transactions (never mixed with
plain writes, whose timestamps could lose to Paxos'), and only by UPDATE, so a row lives
exactly as long as its columns' TTL. That TTL is the whole seconds left, rounded down: a
row never outlives its expiry, so "is there a row" answers "is it unexpired".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.cassandra.session import CassandraSession, gather, utc
from storage.errors import StorageError
from storage.records import MutedWord, RelationEdge, Relations, utcnow

_BLOCK_IF_NEW = (
    "INSERT INTO {ks}.blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?) IF NOT EXISTS"
)
_MIRROR = "INSERT INTO {ks}.blocked_by (user_id, blocker_id, created_at) VALUES (?, ?, ?)"
PAGE_ROWS = 1_000  # rows per read of a partition (below the driver's 5,000-row page)
MAX_TTL_S = 630_720_000  # Cassandra's limit (20 years): a later expiry is kept that long
_CAS_TRIES = 10


class CassandraSafetyStore:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def block(self, blocker_id: int, blocked_id: int, at: datetime) -> bool:
        added, found = await self._db.applied(_BLOCK_IF_NEW, (blocker_id, blocked_id, at))
        # The mirror is written even when the block is not new: trying a block again then
        # completes one whose mirror write failed.
        since = at if added else found.get("created_at") or at
        await self._db.run(_MIRROR, (blocked_id, blocker_id, since))
        return added

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.blocks WHERE user_id = ? AND blocked_id = ? IF EXISTS",
            (blocker_id, blocked_id),
        )
        await self._db.run(
            "DELETE FROM {ks}.blocked_by WHERE user_id = ? AND blocker_id = ?",
            (blocked_id, blocker_id),
        )
        return removed

    async def blocks_page(
        self, blocker_id: int, limit: int, after: int | None = None
    ) -> list[RelationEdge]:
        if limit <= 0:
            return []
        rows = await self._db.run(
            "SELECT blocked_id, created_at FROM {ks}.blocks "
            "WHERE user_id = ? AND blocked_id > ? LIMIT ?",
            (blocker_id, -1 if after is None else after, limit),
        )
        return [RelationEdge(blocker_id, row["blocked_id"], _at(row)) for row in rows]

    async def mute(
        self, muter_id: int, muted_id: int, at: datetime, expires_at: datetime | None
    ) -> bool:
        return await self._put("mutes", "muted_id", muter_id, muted_id, at, expires_at)

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        return await self._remove("mutes", "muted_id", muter_id, muted_id)

    async def mutes_page(
        self, muter_id: int, limit: int, after: int | None = None, now: datetime | None = None
    ) -> list[RelationEdge]:
        """Rows expired by `now` (a TTL rounds down to the second, and `now` may be later
        than the clock) are skipped: reads go on until `limit` unexpired ones are found."""
        moment = now or utcnow()
        edges: list[RelationEdge] = []
        cursor = -1 if after is None else after
        while limit > len(edges):
            rows = await self._db.run(
                "SELECT muted_id, created_at, expires_at FROM {ks}.mutes "
                "WHERE user_id = ? AND muted_id > ? LIMIT ?",
                (muter_id, cursor, limit),
            )
            edges += [
                RelationEdge(muter_id, row["muted_id"], _at(row), utc(row["expires_at"]))
                for row in rows
                if _unexpired(row, moment)
            ]
            if len(rows) < limit:
                break
            cursor = rows[-1]["muted_id"]
        return edges[:limit]

    async def add_muted_word(
        self, user_id: int, word: str, at: datetime, expires_at: datetime | None
    ) -> bool:
        return await self._put("muted_words", "word", user_id, word, at, expires_at)

    async def remove_muted_word(self, user_id: int, word: str) -> bool:
        return await self._remove("muted_words", "word", user_id, word)

    async def relations(self, user_id: int, now: datetime) -> Relations:
        blocking, blocked_by, mutes, words = await gather(
            self._partition(table, key, columns, user_id)
            for table, key, columns in (
                ("blocks", "blocked_id", "blocked_id"),
                ("blocked_by", "blocker_id", "blocker_id"),
                ("mutes", "muted_id", "muted_id, expires_at"),
                ("muted_words", "word", "word, created_at, expires_at"),
            )
        )
        return Relations(
            blocking=frozenset(row["blocked_id"] for row in blocking),
            blocked_by=frozenset(row["blocker_id"] for row in blocked_by),
            muting=frozenset(row["muted_id"] for row in mutes if _unexpired(row, now)),
            muted_words=tuple(
                MutedWord(row["word"], _at(row), utc(row["expires_at"]))
                for row in words
                if _unexpired(row, now)
            ),
        )

    async def _partition(
        self, table: str, key: str, columns: str, user_id: int
    ) -> list[dict[str, Any]]:
        """Every row of a user's partition, a page at a time."""
        select = f"SELECT {columns} FROM {{ks}}.{table} WHERE user_id = ?"
        rows = await self._db.run(f"{select} LIMIT ?", (user_id, PAGE_ROWS))
        found = list(rows)
        while len(rows) == PAGE_ROWS:
            rows = await self._db.run(
                f"{select} AND {key} > ? LIMIT ?", (user_id, rows[-1][key], PAGE_ROWS)
            )
            found += rows
        return found

    async def _put(
        self,
        table: str,
        column: str,
        user_id: int,
        value: int | str,
        at: datetime,
        expires_at: datetime | None,
    ) -> bool:
        """Write the row, or give an unexpired one the new expiry (it stays muted since it
        was first muted); True if there was no row. A compare-and-set on created_at: the
        first try expects no row; if there is one, the next rewrites it as it was found,
        with the new expiry (its columns need the new TTL too)."""
        ttl = _ttl_s(expires_at)
        if ttl is None:  # already expired: replacing the old expiry with it ends the mute
            removed = await self._remove(table, column, user_id, value)
            return not removed
        since: datetime = at
        expected: datetime | None = None
        for _ in range(_CAS_TRIES):
            written, found = await self._db.applied(
                f"UPDATE {{ks}}.{table} USING TTL ? SET created_at = ?, expires_at = ? "
                f"WHERE user_id = ? AND {column} = ? IF created_at = ?",
                (ttl, since, expires_at, user_id, value, expected),
            )
            if written:
                return expected is None
            # A row is there (or the one expected is gone): expect what is there now.
            expected = found.get("created_at")
            since = at if expected is None else expected
        raise StorageError(f"Cassandra: {table} of {user_id} kept changing; gave up writing")

    async def _remove(self, table: str, column: str, user_id: int, value: int | str) -> bool:
        removed, _ = await self._db.applied(
            f"DELETE FROM {{ks}}.{table} WHERE user_id = ? AND {column} = ? IF EXISTS",
            (user_id, value),
        )
        return removed


def _ttl_s(expires_at: datetime | None) -> int | None:
    """0 (no TTL) for no expiry; the whole seconds left; None when not one is left."""
    if expires_at is None:
        return 0
    left = int((expires_at - utcnow()).total_seconds())
    return min(left, MAX_TTL_S) if left >= 1 else None


def _at(row: dict[str, Any]) -> datetime:
    created_at = utc(row["created_at"])
    if created_at is None:  # every write sets it
        raise StorageError("Cassandra returned a safety row without created_at")
    return created_at


def _unexpired(row: dict[str, Any], now: datetime) -> bool:
    expires_at = utc(row["expires_at"])
    return expires_at is None or expires_at > now
