"""SqliteNotificationStore: groups, claims and read markers in three tables. A change is
read, folded (storage/notifications.py) and written in one write transaction, so changes
on one base serialize. Groups older than the retention window are left out of reads and
deleted, with their claims, when their recipient next gets a new group."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import timedelta

from storage.notifications import BaseState, Folded, fold, refilled
from storage.ports import Position
from storage.records import (
    NOTIFICATION_KINDS,
    NotificationChange,
    NotificationGroup,
    ms_from_utc,
    utc_from_ms,
    utcnow,
)
from storage.sqlite.database import SqliteDatabase, Tx, placeholders

_COLUMNS = "id, user_id, base_key, kind, subject_id, count, sample, latest_at"
_AFTER = "(latest_at > ? OR (latest_at = ? AND id > ?))"
_BEFORE = "(latest_at < ? OR (latest_at = ? AND id < ?))"
REFILL_ROWS = 64


class SqliteNotificationStore:
    def __init__(self, db: SqliteDatabase, retention: timedelta) -> None:
        self._db = db
        self._retention = retention

    async def apply(
        self, change: NotificationChange, window: timedelta, new_id: Callable[[], int]
    ) -> list[NotificationGroup]:
        user, base = change.recipient_id, change.base_key
        actors = [actor for actor, _ in change.added] + list(change.removed)
        async with self._db.write() as tx:
            newest = await tx.row(
                f"SELECT {_COLUMNS} FROM notification_groups "
                "WHERE user_id = ? AND base_key = ? ORDER BY id DESC LIMIT 1",
                (user, base),
            )
            claims = {
                row["actor_id"]: (row["group_id"], utc_from_ms(row["at"]))
                for row in await tx.rows(
                    "SELECT actor_id, group_id, at FROM notification_claims WHERE user_id = ? "
                    f"AND base_key = ? AND actor_id IN ({placeholders(len(actors))})",
                    (user, base, *actors),
                )
            }
            named = {group_id for group_id, _ in claims.values()}
            groups = {row["id"]: _group(row) for row in [newest] if row is not None}
            groups |= {
                row["id"]: _group(row)
                for row in await tx.rows(
                    f"SELECT {_COLUMNS} FROM notification_groups "
                    f"WHERE id IN ({placeholders(len(named))})",
                    tuple(named),
                )
            }
            state = BaseState(newest["id"] if newest else None, claims, groups)
            folded = fold(state, change, await _marker(tx, user), window, new_id)
            if not folded.changed:
                return []
            await self._write(tx, change, folded)
            if folded.newest != state.newest:  # a new group: a moment to forget old ones
                await self._forget_expired(tx, user)
        return list(folded.groups.values())

    async def _write(self, tx: Tx, change: NotificationChange, folded: Folded) -> None:
        user, base = change.recipient_id, change.base_key
        await tx.run_many(
            "DELETE FROM notification_claims WHERE user_id = ? AND base_key = ? AND actor_id = ?",
            [(user, base, actor) for actor in folded.unclaimed],
        )
        await tx.run_many(
            "INSERT INTO notification_claims (user_id, base_key, actor_id, group_id, at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (user, base, actor, group_id, ms_from_utc(at))
                for actor, (group_id, at) in folded.claimed.items()
            ],
        )
        for group_id in folded.short:
            rows = await tx.rows(
                "SELECT actor_id, at FROM notification_claims WHERE group_id = ? "
                "ORDER BY at DESC LIMIT ?",
                (group_id, REFILL_ROWS),
            )
            members = [(row["actor_id"], utc_from_ms(row["at"])) for row in rows]
            folded.groups[group_id] = refilled(folded.groups[group_id], members)
        gone = [group.id for group in folded.groups.values() if group.count == 0]
        await tx.run_many("DELETE FROM notification_groups WHERE id = ?", [(g,) for g in gone])
        await tx.run_many(
            f"INSERT OR REPLACE INTO notification_groups ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [_row(group) for group in folded.groups.values() if group.count > 0],
        )

    async def _forget_expired(self, tx: Tx, user_id: int) -> None:
        cutoff = ms_from_utc(utcnow() - self._retention)
        await tx.run(
            "DELETE FROM notification_claims WHERE group_id IN (SELECT id FROM "
            "notification_groups WHERE user_id = ? AND latest_at < ?)",
            (user_id, cutoff),
        )
        await tx.run(
            "DELETE FROM notification_groups WHERE user_id = ? AND latest_at < ?",
            (user_id, cutoff),
        )

    async def drop(self, recipient_id: int, base_key: str) -> list[NotificationGroup]:
        async with self._db.write() as tx:
            rows = await tx.rows(
                f"SELECT {_COLUMNS} FROM notification_groups WHERE user_id = ? AND base_key = ?",
                (recipient_id, base_key),
            )
            await tx.run(
                "DELETE FROM notification_claims WHERE user_id = ? AND base_key = ?",
                (recipient_id, base_key),
            )
            await tx.run(
                "DELETE FROM notification_groups WHERE user_id = ? AND base_key = ?",
                (recipient_id, base_key),
            )
        return [_gone(_group(row)) for row in rows]

    async def page(
        self,
        recipient_id: int,
        limit: int,
        after: Position | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[NotificationGroup]:
        if limit <= 0 or (kinds is not None and not kinds):
            return []
        where = ["user_id = ?", "latest_at >= ?"]
        params: list[object] = [recipient_id, ms_from_utc(utcnow() - self._retention)]
        if after is not None:
            at_ms = ms_from_utc(after[0])
            where.append(_BEFORE)
            params += [at_ms, at_ms, after[1]]
        if kinds is not None and set(kinds) != set(NOTIFICATION_KINDS):
            where.append(f"kind IN ({placeholders(len(kinds))})")
            params += list(kinds)
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_COLUMNS} FROM notification_groups WHERE {' AND '.join(where)} "
                "ORDER BY latest_at DESC, id DESC LIMIT ?",
                (*params, limit),
            )
        return [_group(row) for row in rows]

    async def mark_read(self, recipient_id: int, position: Position) -> Position:
        at_ms = ms_from_utc(position[0])
        async with self._db.write() as tx:
            await tx.run(
                "INSERT INTO notification_reads (user_id, read_at, group_id) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET read_at = excluded.read_at, "
                "group_id = excluded.group_id WHERE excluded.read_at > read_at "
                "OR (excluded.read_at = read_at AND excluded.group_id > group_id)",
                (recipient_id, at_ms, position[1]),
            )
            marker = await _marker(tx, recipient_id)
        assert marker is not None
        return marker

    async def read_marker(self, recipient_id: int) -> Position | None:
        async with self._db.read() as tx:
            return await _marker(tx, recipient_id)

    async def unread_count(self, recipient_id: int, cap: int) -> int:
        async with self._db.read() as tx:
            marker = await _marker(tx, recipient_id)
            where, params = (
                "user_id = ? AND latest_at >= ?",
                [
                    recipient_id,
                    ms_from_utc(utcnow() - self._retention),
                ],
            )
            if marker is not None:
                at_ms = ms_from_utc(marker[0])
                where += f" AND {_AFTER}"
                params += [at_ms, at_ms, marker[1]]
            row = await tx.row(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM notification_groups "
                f"WHERE {where} LIMIT ?)",
                (*params, cap),
            )
        return int(row["n"]) if row else 0


async def _marker(tx: Tx, user_id: int) -> Position | None:
    row = await tx.row(
        "SELECT read_at, group_id FROM notification_reads WHERE user_id = ?", (user_id,)
    )
    return (utc_from_ms(row["read_at"]), row["group_id"]) if row else None


def _group(row: sqlite3.Row) -> NotificationGroup:
    return NotificationGroup(
        id=row["id"],
        recipient_id=row["user_id"],
        base_key=row["base_key"],
        kind=row["kind"],
        subject_id=row["subject_id"],
        count=row["count"],
        sample=tuple((actor, utc_from_ms(ms)) for actor, ms in json.loads(row["sample"])),
        latest_at=utc_from_ms(row["latest_at"]),
    )


def _row(group: NotificationGroup) -> tuple[object, ...]:
    sample = json.dumps([[actor, ms_from_utc(at)] for actor, at in group.sample])
    return (
        group.id,
        group.recipient_id,
        group.base_key,
        group.kind,
        group.subject_id,
        group.count,
        sample,
        ms_from_utc(group.latest_at),
    )


def _gone(group: NotificationGroup) -> NotificationGroup:
    return replace(group, count=0, sample=())
