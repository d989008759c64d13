"""SqliteSafetyStore: blocks (who blocks a user is read through an index), mutes and muted
words. Expiry is judged by every read against its `now`, and by writes against the clock;
a user's expired rows are dropped by their next mute (or muted word)."""

from __future__ import annotations

from datetime import datetime

from storage.records import MutedWord, RelationEdge, Relations, ms_from_utc, utc_from_ms, utcnow
from storage.sqlite.database import SqliteDatabase

_UNEXPIRED = "(expires_at IS NULL OR expires_at > ?)"


class SqliteSafetyStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def block(self, blocker_id: int, blocked_id: int, at: datetime) -> bool:
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT OR IGNORE INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)",
                (blocker_id, blocked_id, ms_from_utc(at)),
            )
        return added == 1

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?", (blocker_id, blocked_id)
            )
        return removed == 1

    async def blocks_page(
        self, blocker_id: int, limit: int, after: int | None = None
    ) -> list[RelationEdge]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                "SELECT blocked_id, created_at FROM blocks "
                "WHERE user_id = ? AND blocked_id > ? ORDER BY blocked_id LIMIT ?",
                # Snowflake ids are positive, so -1 starts before the first.
                (blocker_id, -1 if after is None else after, limit),
            )
        return [
            RelationEdge(blocker_id, row["blocked_id"], utc_from_ms(row["created_at"]))
            for row in rows
        ]

    async def mute(
        self, muter_id: int, muted_id: int, at: datetime, expires_at: datetime | None
    ) -> bool:
        return await self._put("mutes", "muted_id", muter_id, muted_id, at, expires_at)

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        return await self._remove("mutes", "muted_id", muter_id, muted_id)

    async def mutes_page(
        self, muter_id: int, limit: int, after: int | None = None, now: datetime | None = None
    ) -> list[RelationEdge]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                "SELECT muted_id, created_at, expires_at FROM mutes "
                f"WHERE user_id = ? AND muted_id > ? AND {_UNEXPIRED} "
                "ORDER BY muted_id LIMIT ?",
                (muter_id, -1 if after is None else after, ms_from_utc(now or utcnow()), limit),
            )
        return [
            RelationEdge(
                muter_id,
                row["muted_id"],
                utc_from_ms(row["created_at"]),
                _moment(row["expires_at"]),
            )
            for row in rows
        ]

    async def add_muted_word(
        self, user_id: int, word: str, at: datetime, expires_at: datetime | None
    ) -> bool:
        return await self._put("muted_words", "word", user_id, word, at, expires_at)

    async def remove_muted_word(self, user_id: int, word: str) -> bool:
        return await self._remove("muted_words", "word", user_id, word)

    async def relations(self, user_id: int, now: datetime) -> Relations:
        moment = ms_from_utc(now)
        async with self._db.read() as tx:
            blocking = await tx.rows("SELECT blocked_id FROM blocks WHERE user_id = ?", (user_id,))
            blocked_by = await tx.rows(
                "SELECT user_id FROM blocks WHERE blocked_id = ?", (user_id,)
            )
            muting = await tx.rows(
                f"SELECT muted_id FROM mutes WHERE user_id = ? AND {_UNEXPIRED}",
                (user_id, moment),
            )
            words = await tx.rows(
                "SELECT word, created_at, expires_at FROM muted_words "
                f"WHERE user_id = ? AND {_UNEXPIRED} ORDER BY word",
                (user_id, moment),
            )
        return Relations(
            blocking=frozenset(row["blocked_id"] for row in blocking),
            blocked_by=frozenset(row["user_id"] for row in blocked_by),
            muting=frozenset(row["muted_id"] for row in muting),
            muted_words=tuple(
                MutedWord(row["word"], utc_from_ms(row["created_at"]), _moment(row["expires_at"]))
                for row in words
            ),
        )

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
        was first muted); True if there was no unexpired row."""
        async with self._db.write() as tx:
            await tx.run(
                f"DELETE FROM {table} WHERE user_id = ? AND expires_at <= ?",
                (user_id, ms_from_utc(utcnow())),
            )
            existing = await tx.row(
                f"SELECT 1 FROM {table} WHERE user_id = ? AND {column} = ?", (user_id, value)
            )
            await tx.run(
                f"INSERT INTO {table} (user_id, {column}, created_at, expires_at) "
                f"VALUES (?, ?, ?, ?) ON CONFLICT (user_id, {column}) "
                "DO UPDATE SET expires_at = excluded.expires_at",
                (user_id, value, ms_from_utc(at), _ms(expires_at)),
            )
        return existing is None

    async def _remove(self, table: str, column: str, user_id: int, value: int | str) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                f"DELETE FROM {table} WHERE user_id = ? AND {column} = ? AND {_UNEXPIRED}",
                (user_id, value, ms_from_utc(utcnow())),
            )
            await tx.run(  # an expired row, if that is what was there
                f"DELETE FROM {table} WHERE user_id = ? AND {column} = ?", (user_id, value)
            )
        return removed == 1


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else ms_from_utc(moment)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else utc_from_ms(ms)
