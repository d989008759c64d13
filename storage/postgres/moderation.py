"""PostgresModerationStore: reports and actions on the shard of their owner, roles on the
shard of their user. The queue and the log are read from every shard and merged: each shard
gives its first `limit` after the cursor, so the first `limit` of them all are among those."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from storage.postgres.shards import Shards, driver_errors, fetch
from storage.records import (
    ModerationRecord,
    ReportGroup,
    ReportReason,
    ReportRecord,
    TargetKind,
    reasons_in_order,
)

_REPORT_COLUMNS = (
    "id, reporter_id, target_kind, target_id, owner_id, reason, comment, created_at, "
    "resolved_at, resolution"
)
_ACTION_COLUMNS = (
    "id, moderator_id, action, target_kind, target_id, owner_id, note, created_at, until"
)
_OPEN_TARGET = "target_kind = $1 AND target_id = $2 AND owner_id = $3 AND resolved_at IS NULL"
# A shard's targets with open reports, a page of them by (oldest open report, kind, id),
# then their reasons counted: one row per (target, reason).
_OPEN_GROUPS = """
WITH queue AS (
    SELECT target_kind, target_id, owner_id, count(*) AS reports,
           min(created_at) AS first_at, max(created_at) AS last_at
    FROM reports WHERE resolved_at IS NULL
    GROUP BY target_kind, target_id, owner_id
    {having}
    ORDER BY first_at, target_kind, target_id LIMIT $1
)
SELECT q.target_kind, q.target_id, q.owner_id, q.reports, q.first_at, q.last_at,
       r.reason, count(*) AS reason_reports
FROM queue AS q JOIN reports AS r
    ON r.target_kind = q.target_kind AND r.target_id = q.target_id
    AND r.owner_id = q.owner_id AND r.resolved_at IS NULL
GROUP BY q.target_kind, q.target_id, q.owner_id, q.reports, q.first_at, q.last_at, r.reason
"""
_AFTER = "HAVING (min(created_at), target_kind, target_id) > ($2::timestamptz, $3, $4::bigint)"
_NO_BEFORE = 2**63 - 1  # above every Snowflake id


def _changed(status: str) -> int:
    """The row count of a command status such as "INSERT 0 1" or "UPDATE 3"."""
    return int(status.split()[-1])


class PostgresModerationStore:
    def __init__(self, shards: Shards) -> None:
        self._shards = shards

    async def add_report(self, report: ReportRecord) -> bool:
        async with driver_errors("add report"):
            status = await self._shards.for_id(report.owner_id).execute(
                f"INSERT INTO reports ({_REPORT_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                report.id,
                report.reporter_id,
                TargetKind(report.target_kind).value,
                report.target_id,
                report.owner_id,
                ReportReason(report.reason).value,
                report.comment,
                report.created_at,
                report.resolved_at,
                report.resolution,
            )
        return _changed(status) == 1

    async def open_groups(
        self, limit: int, after: tuple[datetime, str, int] | None = None
    ) -> list[ReportGroup]:
        if limit <= 0:
            return []
        params: list[Any] = [limit]
        if after is not None:
            first_at, kind, target_id = after
            params += [first_at, str(kind), target_id]
        sql = _OPEN_GROUPS.format(having=_AFTER if after else "")

        async def on_shard(pool: asyncpg.Pool) -> list[ReportGroup]:
            return _groups(await fetch(pool, sql, *params))

        groups = [group for found in await self._shards.each(on_shard) for group in found]
        return sorted(groups, key=lambda group: group.position)[:limit]

    async def open_reports(
        self, target_kind: str, target_id: int, owner_id: int, limit: int
    ) -> list[ReportRecord]:
        if limit <= 0:
            return []
        rows = await fetch(
            self._shards.for_id(owner_id),
            f"SELECT {_REPORT_COLUMNS} FROM reports WHERE {_OPEN_TARGET} "
            "ORDER BY created_at, id LIMIT $4",
            TargetKind(target_kind).value,
            target_id,
            owner_id,
            limit,
        )
        return [_report(row) for row in rows]

    async def resolve(
        self, target_kind: str, target_id: int, owner_id: int, resolution: str, at: datetime
    ) -> int:
        async with driver_errors("resolve reports"):
            status = await self._shards.for_id(owner_id).execute(
                f"UPDATE reports SET resolved_at = $4, resolution = $5 WHERE {_OPEN_TARGET}",
                TargetKind(target_kind).value,
                target_id,
                owner_id,
                at,
                resolution,
            )
        return _changed(status)

    async def record(self, action: ModerationRecord) -> None:
        async with driver_errors("record moderation"):
            await self._shards.for_id(action.owner_id).execute(
                f"INSERT INTO moderation_actions ({_ACTION_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                action.id,
                action.moderator_id,
                action.action,
                TargetKind(action.target_kind).value,
                action.target_id,
                action.owner_id,
                action.note,
                action.created_at,
                action.until,
            )

    async def actions_page(self, limit: int, before: int | None = None) -> list[ModerationRecord]:
        if limit <= 0:
            return []

        async def on_shard(pool: asyncpg.Pool) -> list[Any]:
            return await fetch(
                pool,
                f"SELECT {_ACTION_COLUMNS} FROM moderation_actions WHERE id < $1 "
                "ORDER BY id DESC LIMIT $2",
                _NO_BEFORE if before is None else before,
                limit,
            )

        rows = [row for found in await self._shards.each(on_shard) for row in found]
        rows.sort(key=lambda row: -row["id"])
        return [_action(row) for row in rows[:limit]]

    async def grant(self, user_id: int, role: str, at: datetime) -> bool:
        async with driver_errors("grant role"):
            status = await self._shards.for_id(user_id).execute(
                "INSERT INTO user_roles (user_id, role, granted_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (user_id, role) DO NOTHING",
                user_id,
                role,
                at,
            )
        return _changed(status) == 1

    async def revoke(self, user_id: int, role: str) -> bool:
        async with driver_errors("revoke role"):
            status = await self._shards.for_id(user_id).execute(
                "DELETE FROM user_roles WHERE user_id = $1 AND role = $2", user_id, role
            )
        return _changed(status) == 1

    async def roles(self, user_id: int) -> frozenset[str]:
        rows = await fetch(
            self._shards.for_id(user_id), "SELECT role FROM user_roles WHERE user_id = $1", user_id
        )
        return frozenset(row["role"] for row in rows)


def _groups(rows: Sequence[Mapping[str, Any]]) -> list[ReportGroup]:
    reasons: dict[tuple[str, int, int], dict[ReportReason, int]] = defaultdict(dict)
    heads: dict[tuple[str, int, int], Mapping[str, Any]] = {}
    for row in rows:
        key = (row["target_kind"], row["target_id"], row["owner_id"])
        heads[key] = row
        reasons[key][ReportReason(row["reason"])] = row["reason_reports"]
    return [
        ReportGroup(
            target_kind=TargetKind(row["target_kind"]),
            target_id=row["target_id"],
            owner_id=row["owner_id"],
            open_reports=row["reports"],
            reasons=reasons_in_order(reasons[key]),
            first_at=row["first_at"],
            last_at=row["last_at"],
        )
        for key, row in heads.items()
    ]


def _report(row: Mapping[str, Any]) -> ReportRecord:
    values = dict(row)
    values["target_kind"] = TargetKind(values["target_kind"])
    values["reason"] = ReportReason(values["reason"])
    return ReportRecord(**values)


def _action(row: Mapping[str, Any]) -> ModerationRecord:
    values = dict(row)
    values["target_kind"] = TargetKind(values["target_kind"])
    return ModerationRecord(**values)
