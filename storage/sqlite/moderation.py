"""SqliteModerationStore: reports (one open report per reporter and target, by a partial
unique index), the moderators' log and user roles."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime

from storage.records import (
    ModerationRecord,
    ReportGroup,
    ReportReason,
    ReportRecord,
    TargetKind,
    ms_from_utc,
    reasons_in_order,
    utc_from_ms,
)
from storage.sqlite.database import SqliteDatabase

_REPORT_COLUMNS = (
    "id, reporter_id, target_kind, target_id, owner_id, reason, comment, created_at, "
    "resolved_at, resolution"
)
_ACTION_COLUMNS = (
    "id, moderator_id, action, target_kind, target_id, owner_id, note, created_at, until"
)
_OPEN_TARGET = "target_kind = ? AND target_id = ? AND owner_id = ? AND resolved_at IS NULL"
# The targets with open reports, a page of them by (oldest open report, kind, id), then
# their reasons counted: one row per (target, reason).
_OPEN_GROUPS = """
WITH queue AS (
    SELECT target_kind, target_id, owner_id, count(*) AS reports,
           min(created_at) AS first_at, max(created_at) AS last_at
    FROM reports WHERE resolved_at IS NULL
    GROUP BY target_kind, target_id, owner_id
    {having}
    ORDER BY first_at, target_kind, target_id LIMIT ?
)
SELECT q.target_kind, q.target_id, q.owner_id, q.reports, q.first_at, q.last_at,
       r.reason, count(*) AS reason_reports
FROM queue AS q JOIN reports AS r
    ON r.target_kind = q.target_kind AND r.target_id = q.target_id
    AND r.owner_id = q.owner_id AND r.resolved_at IS NULL
GROUP BY q.target_kind, q.target_id, q.owner_id, r.reason
"""
_AFTER = "HAVING (min(created_at), target_kind, target_id) > (?, ?, ?)"
_NO_BEFORE = 2**63 - 1  # above every Snowflake id


class SqliteModerationStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def add_report(self, report: ReportRecord) -> bool:
        async with self._db.write() as tx:
            added = await tx.run(
                f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    report.id,
                    report.reporter_id,
                    TargetKind(report.target_kind).value,
                    report.target_id,
                    report.owner_id,
                    ReportReason(report.reason).value,
                    report.comment,
                    ms_from_utc(report.created_at),
                    _ms(report.resolved_at),
                    report.resolution,
                ),
            )
        return added == 1

    async def open_groups(
        self, limit: int, after: tuple[datetime, str, int] | None = None
    ) -> list[ReportGroup]:
        if limit <= 0:
            return []
        params: list[object] = []
        if after is not None:
            first_at, kind, target_id = after
            params += [ms_from_utc(first_at), str(kind), target_id]
        async with self._db.read() as tx:
            rows = await tx.rows(
                _OPEN_GROUPS.format(having=_AFTER if after else ""), [*params, limit]
            )
        return _groups(rows)

    async def open_reports(
        self, target_kind: str, target_id: int, owner_id: int, limit: int
    ) -> list[ReportRecord]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_REPORT_COLUMNS} FROM reports WHERE {_OPEN_TARGET} "
                "ORDER BY created_at, id LIMIT ?",
                (TargetKind(target_kind).value, target_id, owner_id, limit),
            )
        return [_report(row) for row in rows]

    async def resolve(
        self, target_kind: str, target_id: int, owner_id: int, resolution: str, at: datetime
    ) -> int:
        async with self._db.write() as tx:
            return await tx.run(
                f"UPDATE reports SET resolved_at = ?, resolution = ? WHERE {_OPEN_TARGET}",
                (ms_from_utc(at), resolution, TargetKind(target_kind).value, target_id, owner_id),
            )

    async def record(self, action: ModerationRecord) -> None:
        async with self._db.write() as tx:
            await tx.run(
                f"INSERT INTO moderation_actions ({_ACTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    action.id,
                    action.moderator_id,
                    action.action,
                    TargetKind(action.target_kind).value,
                    action.target_id,
                    action.owner_id,
                    action.note,
                    ms_from_utc(action.created_at),
                    _ms(action.until),
                ),
            )

    async def actions_page(self, limit: int, before: int | None = None) -> list[ModerationRecord]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_ACTION_COLUMNS} FROM moderation_actions WHERE id < ? "
                "ORDER BY id DESC LIMIT ?",
                (_NO_BEFORE if before is None else before, limit),
            )
        return [_action(row) for row in rows]

    async def grant(self, user_id: int, role: str, at: datetime) -> bool:
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT INTO user_roles (user_id, role, granted_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, role) DO NOTHING",
                (user_id, role, ms_from_utc(at)),
            )
        return added == 1

    async def revoke(self, user_id: int, role: str) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM user_roles WHERE user_id = ? AND role = ?", (user_id, role)
            )
        return removed == 1

    async def roles(self, user_id: int) -> frozenset[str]:
        async with self._db.read() as tx:
            rows = await tx.rows("SELECT role FROM user_roles WHERE user_id = ?", (user_id,))
        return frozenset(row["role"] for row in rows)


def _groups(rows: list[sqlite3.Row]) -> list[ReportGroup]:
    reasons: dict[tuple[str, int, int], dict[ReportReason, int]] = defaultdict(dict)
    heads: dict[tuple[str, int, int], sqlite3.Row] = {}
    for row in rows:
        key = (row["target_kind"], row["target_id"], row["owner_id"])
        heads[key] = row
        reasons[key][ReportReason(row["reason"])] = row["reason_reports"]
    groups = [
        ReportGroup(
            target_kind=TargetKind(row["target_kind"]),
            target_id=row["target_id"],
            owner_id=row["owner_id"],
            open_reports=row["reports"],
            reasons=reasons_in_order(reasons[key]),
            first_at=utc_from_ms(row["first_at"]),
            last_at=utc_from_ms(row["last_at"]),
        )
        for key, row in heads.items()
    ]
    return sorted(groups, key=lambda group: group.position)


def _report(row: sqlite3.Row) -> ReportRecord:
    return ReportRecord(
        id=row["id"],
        reporter_id=row["reporter_id"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        owner_id=row["owner_id"],
        reason=ReportReason(row["reason"]),
        comment=row["comment"],
        created_at=utc_from_ms(row["created_at"]),
        resolved_at=_moment(row["resolved_at"]),
        resolution=row["resolution"],
    )


def _action(row: sqlite3.Row) -> ModerationRecord:
    return ModerationRecord(
        id=row["id"],
        moderator_id=row["moderator_id"],
        action=row["action"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        owner_id=row["owner_id"],
        note=row["note"],
        created_at=utc_from_ms(row["created_at"]),
        until=_moment(row["until"]),
    )


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else ms_from_utc(moment)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else utc_from_ms(ms)
