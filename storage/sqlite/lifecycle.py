"""SqliteLifecycleStore: what deletions wait for (`lifecycle_schedule`) and each user's
latest data export (`data_exports`, one row per user)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from storage.records import (
    DataExport,
    ExportStatus,
    LifecycleEntry,
    LifecycleKind,
    changed_stats,
    ms_from_utc,
    utc_from_ms,
    utcnow,
)
from storage.sqlite.database import SqliteDatabase

_ENTRY_COLUMNS = "kind, owner_id, subject_id, since, due_at"
_EXPORT_COLUMNS = "user_id, id, status, requested_at, finished_at, key, expires_at"
_NEWEST = 2**63 - 1


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else ms_from_utc(moment)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else utc_from_ms(ms)


def _entry(row: sqlite3.Row) -> LifecycleEntry:
    return LifecycleEntry(
        kind=LifecycleKind(row["kind"]),
        subject_id=row["subject_id"],
        owner_id=row["owner_id"],
        since=utc_from_ms(row["since"]),
        due_at=utc_from_ms(row["due_at"]),
    )


def _export(row: sqlite3.Row) -> DataExport:
    return DataExport(
        user_id=row["user_id"],
        id=row["id"],
        status=ExportStatus(row["status"]),
        requested_at=utc_from_ms(row["requested_at"]),
        finished_at=_moment(row["finished_at"]),
        key=row["key"],
        expires_at=_moment(row["expires_at"]),
    )


def _export_values(export: DataExport) -> tuple[object, ...]:
    return (
        export.user_id,
        export.id,
        ExportStatus(export.status).value,
        ms_from_utc(export.requested_at),
        _ms(export.finished_at),
        export.key,
        _ms(export.expires_at),
    )


class SqliteLifecycleStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def schedule(self, entry: LifecycleEntry) -> None:
        async with self._db.write() as tx:
            await tx.run(
                f"INSERT INTO lifecycle_schedule ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (kind, owner_id, subject_id) "
                "DO UPDATE SET since = excluded.since, due_at = excluded.due_at",
                (
                    LifecycleKind(entry.kind).value,
                    entry.owner_id,
                    entry.subject_id,
                    ms_from_utc(entry.since),
                    ms_from_utc(entry.due_at),
                ),
            )

    async def cancel(self, kind: LifecycleKind, owner_id: int, subject_id: int) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM lifecycle_schedule WHERE kind = ? AND owner_id = ? AND subject_id = ?",
                (LifecycleKind(kind).value, owner_id, subject_id),
            )
        return removed > 0

    async def cancel_counting(
        self, kind: LifecycleKind, owner_id: int, subject_id: int, deltas: Mapping[str, int]
    ) -> bool:
        names = changed_stats(deltas)
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM lifecycle_schedule WHERE kind = ? AND owner_id = ? AND subject_id = ?",
                (LifecycleKind(kind).value, owner_id, subject_id),
            )
            if removed and names:
                assignments = ", ".join(f"{name} = {name} + ?" for name in names)
                await tx.run(
                    f"UPDATE user_stats SET {assignments}, updated_at = ? WHERE user_id = ?",
                    (*(deltas[name] for name in names), ms_from_utc(utcnow()), owner_id),
                )
        return removed > 0

    async def get(
        self, kind: LifecycleKind, owner_id: int, subject_id: int
    ) -> LifecycleEntry | None:
        async with self._db.read() as tx:
            row = await tx.row(
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
                "WHERE kind = ? AND owner_id = ? AND subject_id = ?",
                (LifecycleKind(kind).value, owner_id, subject_id),
            )
        return None if row is None else _entry(row)

    async def owned(
        self,
        kind: LifecycleKind,
        owner_id: int,
        limit: int,
        after: tuple[datetime, int] | None = None,
    ) -> list[LifecycleEntry]:
        if limit <= 0:
            return []
        since, subject = (ms_from_utc(after[0]), after[1]) if after else (_NEWEST, _NEWEST)
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
                "WHERE kind = ? AND owner_id = ? AND (since, subject_id) < (?, ?) "
                "ORDER BY since DESC, subject_id DESC LIMIT ?",
                (LifecycleKind(kind).value, owner_id, since, subject, limit),
            )
        return [_entry(row) for row in rows]

    async def due(self, kind: LifecycleKind, now: datetime, limit: int) -> list[LifecycleEntry]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
                "WHERE kind = ? AND due_at <= ? ORDER BY due_at, owner_id, subject_id LIMIT ?",
                (LifecycleKind(kind).value, ms_from_utc(now), limit),
            )
        return [_entry(row) for row in rows]

    async def begin_export(self, export: DataExport) -> DataExport | None:
        async with self._db.write() as tx:
            running = await tx.row(
                f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE user_id = ? AND status = ?",
                (export.user_id, ExportStatus.PENDING.value),
            )
            if running is not None:
                return _export(running)
            await tx.run(
                f"INSERT OR REPLACE INTO data_exports ({_EXPORT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                _export_values(export),
            )
        return None

    async def save_export(self, export: DataExport) -> None:
        async with self._db.write() as tx:
            await tx.run(
                "UPDATE data_exports SET status = ?, finished_at = ?, key = ?, expires_at = ? "
                "WHERE user_id = ? AND id = ?",
                (
                    ExportStatus(export.status).value,
                    _ms(export.finished_at),
                    export.key,
                    _ms(export.expires_at),
                    export.user_id,
                    export.id,
                ),
            )

    async def export_of(self, user_id: int) -> DataExport | None:
        async with self._db.read() as tx:
            row = await tx.row(
                f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE user_id = ?", (user_id,)
            )
        return None if row is None else _export(row)

    async def forget_exports(self, user_id: int) -> None:
        async with self._db.write() as tx:
            await tx.run("DELETE FROM data_exports WHERE user_id = ?", (user_id,))

    async def exports_expiring(self, now: datetime, limit: int) -> list[DataExport]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_EXPORT_COLUMNS} FROM data_exports "
                "WHERE status = ? AND expires_at <= ? ORDER BY expires_at, user_id LIMIT ?",
                (ExportStatus.READY.value, ms_from_utc(now), limit),
            )
        return [_export(row) for row in rows]
