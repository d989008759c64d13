"""PostgresLifecycleStore: what deletions wait for and each user's latest data export, on the
shard of their owner. `due` and `exports_expiring` read every shard and merge: each shard
gives its first `limit`, so the first `limit` of them all are among those."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from storage.postgres.shards import Shards, driver_errors, fetch
from storage.records import (
    DataExport,
    ExportStatus,
    LifecycleEntry,
    LifecycleKind,
    changed_stats,
)

_ENTRY_COLUMNS = "kind, owner_id, subject_id, since, due_at"
_EXPORT_COLUMNS = "user_id, id, status, requested_at, finished_at, key, expires_at"
_NEWEST = 2**63 - 1


def _entry(row: Any) -> LifecycleEntry:
    return LifecycleEntry(
        kind=LifecycleKind(row["kind"]),
        subject_id=row["subject_id"],
        owner_id=row["owner_id"],
        since=row["since"],
        due_at=row["due_at"],
    )


def _export(row: Any) -> DataExport:
    return DataExport(
        user_id=row["user_id"],
        id=row["id"],
        status=ExportStatus(row["status"]),
        requested_at=row["requested_at"],
        finished_at=row["finished_at"],
        key=row["key"],
        expires_at=row["expires_at"],
    )


class PostgresLifecycleStore:
    def __init__(self, shards: Shards) -> None:
        self._shards = shards

    async def schedule(self, entry: LifecycleEntry) -> None:
        async with driver_errors("schedule"):
            await self._shards.for_id(entry.owner_id).execute(
                f"INSERT INTO lifecycle_schedule ({_ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (kind, owner_id, subject_id) "
                "DO UPDATE SET since = excluded.since, due_at = excluded.due_at",
                LifecycleKind(entry.kind).value,
                entry.owner_id,
                entry.subject_id,
                entry.since,
                entry.due_at,
            )

    async def cancel(self, kind: LifecycleKind, owner_id: int, subject_id: int) -> bool:
        async with driver_errors("cancel"):
            status = await self._shards.for_id(owner_id).execute(
                "DELETE FROM lifecycle_schedule "
                "WHERE kind = $1 AND owner_id = $2 AND subject_id = $3",
                LifecycleKind(kind).value,
                owner_id,
                subject_id,
            )
        return int(status.split()[-1]) > 0

    async def cancel_counting(
        self, kind: LifecycleKind, owner_id: int, subject_id: int, deltas: Mapping[str, int]
    ) -> bool:
        """The entry and the owner's stats are on the owner's shard: one transaction."""
        names = changed_stats(deltas)
        assignments = ", ".join(f"{name} = {name} + ${i}" for i, name in enumerate(names, 2))
        pool = self._shards.for_id(owner_id)
        async with driver_errors("cancel counting"), pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "DELETE FROM lifecycle_schedule "
                "WHERE kind = $1 AND owner_id = $2 AND subject_id = $3",
                LifecycleKind(kind).value,
                owner_id,
                subject_id,
            )
            removed = int(status.split()[-1]) > 0
            if removed and names:
                await conn.execute(
                    f"UPDATE user_stats SET {assignments}, updated_at = now() WHERE user_id = $1",
                    owner_id,
                    *(deltas[name] for name in names),
                )
        return removed

    async def get(
        self, kind: LifecycleKind, owner_id: int, subject_id: int
    ) -> LifecycleEntry | None:
        rows = await fetch(
            self._shards.for_id(owner_id),
            f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
            "WHERE kind = $1 AND owner_id = $2 AND subject_id = $3",
            LifecycleKind(kind).value,
            owner_id,
            subject_id,
        )
        return _entry(rows[0]) if rows else None

    async def owned(
        self,
        kind: LifecycleKind,
        owner_id: int,
        limit: int,
        after: tuple[datetime, int] | None = None,
    ) -> list[LifecycleEntry]:
        if limit <= 0:
            return []
        kind_value = LifecycleKind(kind).value
        if after is None:
            rows = await fetch(
                self._shards.for_id(owner_id),
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
                "WHERE kind = $1 AND owner_id = $2 "
                "ORDER BY since DESC, subject_id DESC LIMIT $3",
                kind_value,
                owner_id,
                limit,
            )
        else:
            rows = await fetch(
                self._shards.for_id(owner_id),
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule "
                "WHERE kind = $1 AND owner_id = $2 AND (since, subject_id) < ($3, $4) "
                "ORDER BY since DESC, subject_id DESC LIMIT $5",
                kind_value,
                owner_id,
                after[0],
                after[1],
                limit,
            )
        return [_entry(row) for row in rows]

    async def due(self, kind: LifecycleKind, now: datetime, limit: int) -> list[LifecycleEntry]:
        if limit <= 0:
            return []
        kind_value = LifecycleKind(kind).value

        async def on_shard(pool: asyncpg.Pool) -> list[LifecycleEntry]:
            rows = await fetch(
                pool,
                f"SELECT {_ENTRY_COLUMNS} FROM lifecycle_schedule WHERE kind = $1 AND "
                "due_at <= $2 ORDER BY due_at, owner_id, subject_id LIMIT $3",
                kind_value,
                now,
                limit,
            )
            return [_entry(row) for row in rows]

        found = [entry for entries in await self._shards.each(on_shard) for entry in entries]
        return sorted(found, key=lambda e: (e.due_at, e.owner_id, e.subject_id))[:limit]

    async def begin_export(self, export: DataExport) -> DataExport | None:
        pool = self._shards.for_id(export.user_id)
        async with driver_errors("begin export"), pool.acquire() as conn, conn.transaction():
            # The user's row (if any) is locked for the check: of two requests, one waits.
            rows = await conn.fetch(
                f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE user_id = $1 FOR UPDATE",
                export.user_id,
            )
            if rows and rows[0]["status"] == ExportStatus.PENDING.value:
                return _export(rows[0])
            status = await conn.execute(
                f"INSERT INTO data_exports ({_EXPORT_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET "
                "id = excluded.id, status = excluded.status, "
                "requested_at = excluded.requested_at, finished_at = excluded.finished_at, "
                "key = excluded.key, expires_at = excluded.expires_at "
                "WHERE data_exports.status <> 'pending'",
                *_export_values(export),
            )
            if int(status.split()[-1]) == 0:  # a concurrent first request inserted it
                running = await conn.fetch(
                    f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE user_id = $1",
                    export.user_id,
                )
                return _export(running[0])
        return None

    async def save_export(self, export: DataExport) -> None:
        async with driver_errors("save export"):
            await self._shards.for_id(export.user_id).execute(
                "UPDATE data_exports SET status = $1, finished_at = $2, key = $3, "
                "expires_at = $4 WHERE user_id = $5 AND id = $6",
                ExportStatus(export.status).value,
                export.finished_at,
                export.key,
                export.expires_at,
                export.user_id,
                export.id,
            )

    async def export_of(self, user_id: int) -> DataExport | None:
        rows = await fetch(
            self._shards.for_id(user_id),
            f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE user_id = $1",
            user_id,
        )
        return _export(rows[0]) if rows else None

    async def forget_exports(self, user_id: int) -> None:
        async with driver_errors("forget exports"):
            await self._shards.for_id(user_id).execute(
                "DELETE FROM data_exports WHERE user_id = $1", user_id
            )

    async def exports_expiring(self, now: datetime, limit: int) -> list[DataExport]:
        if limit <= 0:
            return []

        async def on_shard(pool: asyncpg.Pool) -> list[DataExport]:
            rows = await fetch(
                pool,
                f"SELECT {_EXPORT_COLUMNS} FROM data_exports WHERE status = 'ready' "
                "AND expires_at <= $1 ORDER BY expires_at, user_id LIMIT $2",
                now,
                limit,
            )
            return [_export(row) for row in rows]

        found = [export for exports in await self._shards.each(on_shard) for export in exports]
        return sorted(found, key=lambda e: (e.expires_at, e.user_id))[:limit]


def _export_values(export: DataExport) -> tuple[object, ...]:
    return (
        export.user_id,
        export.id,
        ExportStatus(export.status).value,
        export.requested_at,
        export.finished_at,
        export.key,
        export.expires_at,
    )
