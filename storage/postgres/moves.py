"""Moving one logical shard to another physical database while the service runs.

1. Copy the shard's rows (users, user_stats, user_settings, and the claims, sessions,
   revoked session families, reports, moderation actions and user roles whose keys hash to
   it) from the source to the target.
2. Switch the map and bump its version; every process reloads it within MAP_REFRESH_S.
3. Wait longer than that, then copy again: what processes with the old map wrote to the
   source meanwhile (a sign-up, say) reaches the target. Rows already on the target win.
4. Remove the shard's rows from the source.

Reads keep working throughout (the rows are on the map's database at every moment), and a
user is never lost or duplicated: users are copied with ON CONFLICT DO NOTHING and removed
from the source only after every process writes to the target. Counter increments made on
the source in the short window of step 3 can be lost: user_stats may lag, as the design
allows; they are never double-counted. Likewise a role revoked on the source in that window
comes back; a report resolved there stays resolved (resolving only ever closes a report, so
the copy carries it over).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from storage.postgres.shards import MAP_REFRESH_S, Shards, driver_errors
from storage.sharding import shard_of_id, shard_of_key

# Tables placed by user id, parents first (stats and settings reference users).
_BY_ID = ("users", "user_stats", "user_settings")
# Tables placed by another id of their rows: (table, that id's column, the unique key a copy
# skips on). Reports skip on any unique key: an open report written to the source in the
# window may meet the reporter's open report of the same target already on the target.
_BY_OTHER_ID = (
    ("revoked_session_families", "family_id", "family_id"),
    ("reports", "owner_id", None),
    ("moderation_actions", "owner_id", "id"),
    ("user_roles", "user_id", "user_id, role"),
    ("lifecycle_schedule", "owner_id", "kind, owner_id, subject_id"),
    ("data_exports", "user_id", "user_id"),
)


@dataclass(frozen=True)
class MoveReport:
    logical_shard: int
    source: int
    target: int
    users: int
    claims: int
    sessions: int


async def _ids_on_shard(
    conn: asyncpg.Connection, logical: int, table: str = "users", column: str = "user_id"
) -> list[int]:
    ids = await conn.fetch(f"SELECT DISTINCT {column} AS id FROM {table}")
    return [row["id"] for row in ids if shard_of_id(row["id"]) == logical]


async def _keys_on_shard(
    conn: asyncpg.Connection, table: str, column: str, logical: int
) -> list[str]:
    rows = await conn.fetch(f"SELECT {column} AS key FROM {table}")
    return [row["key"] for row in rows if shard_of_key(row["key"]) == logical]


async def _copy(
    source: asyncpg.Connection, target: asyncpg.Connection, logical: int
) -> tuple[int, int, int]:
    user_ids = await _ids_on_shard(source, logical)
    for table in _BY_ID:  # parents first: stats and settings reference users
        rows = await source.fetch(f"SELECT * FROM {table} WHERE user_id = ANY($1)", user_ids)
        await _insert(target, table, rows, "user_id")
    claims = await _keys_on_shard(source, "claims", "claim", logical)
    rows = await source.fetch("SELECT * FROM claims WHERE claim = ANY($1)", claims)
    await _insert(target, "claims", rows, "kind, claim")
    sessions = await _keys_on_shard(source, "sessions", "token_hash", logical)
    rows = await source.fetch("SELECT * FROM sessions WHERE token_hash = ANY($1)", sessions)
    await _insert(target, "sessions", rows, "token_hash")
    for table, column, key in _BY_OTHER_ID:
        ids = await _ids_on_shard(source, logical, table, column)
        rows = await source.fetch(f"SELECT * FROM {table} WHERE {column} = ANY($1)", ids)
        await _insert(target, table, rows, key)
        if table == "reports":
            await _carry_resolutions(target, rows)
    return len(user_ids), len(claims), len(sessions)


async def _insert(
    conn: asyncpg.Connection, table: str, rows: list[asyncpg.Record], key: str | None
) -> None:
    if not rows:
        return
    columns = list(rows[0].keys())
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    conflict = "" if key is None else f"({key}) "
    await conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT {conflict}DO NOTHING",
        [tuple(row.values()) for row in rows],
    )


async def _carry_resolutions(conn: asyncpg.Connection, reports: list[asyncpg.Record]) -> None:
    """Reports resolved on the source are resolved on the target too, if still open there."""
    resolved = [row for row in reports if row["resolved_at"] is not None]
    if not resolved:
        return
    await conn.execute(
        "UPDATE reports AS r SET resolved_at = d.resolved_at, resolution = d.resolution "
        "FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS d(id, resolved_at, "
        "resolution) WHERE r.id = d.id AND r.resolved_at IS NULL",
        [row["id"] for row in resolved],
        [row["resolved_at"] for row in resolved],
        [row["resolution"] for row in resolved],
    )


async def _remove(conn: asyncpg.Connection, logical: int) -> None:
    async with conn.transaction():
        user_ids = await _ids_on_shard(conn, logical)
        for table in reversed(_BY_ID):
            await conn.execute(f"DELETE FROM {table} WHERE user_id = ANY($1)", user_ids)
        claims = await _keys_on_shard(conn, "claims", "claim", logical)
        await conn.execute("DELETE FROM claims WHERE claim = ANY($1)", claims)
        sessions = await _keys_on_shard(conn, "sessions", "token_hash", logical)
        await conn.execute("DELETE FROM sessions WHERE token_hash = ANY($1)", sessions)
        for table, column, _ in _BY_OTHER_ID:
            ids = await _ids_on_shard(conn, logical, table, column)
            await conn.execute(f"DELETE FROM {table} WHERE {column} = ANY($1)", ids)


async def move_logical_shard(
    shards: Shards, logical: int, target: int, grace_s: float = 3 * MAP_REFRESH_S
) -> MoveReport:
    await shards.reload_map()
    source = shards.map.placement[logical]
    if not 0 <= target < len(shards.pools):
        raise ValueError(f"there is no physical shard {target} (0..{len(shards.pools) - 1})")
    if source == target:
        return MoveReport(logical, source, target, 0, 0, 0)
    async with (
        driver_errors("move"),
        shards.pools[source].acquire() as src,
        shards.pools[target].acquire() as dst,
    ):
        await _copy(src, dst, logical)
        async with shards.pools[0].acquire() as mapping, mapping.transaction():
            await mapping.execute(
                "UPDATE shard_map SET physical_shard = $2 WHERE logical_shard = $1", logical, target
            )
            await mapping.execute("UPDATE shard_map_version SET version = version + 1")
        await asyncio.sleep(grace_s)  # every process now reads and writes the target
        users, claims, sessions = await _copy(src, dst, logical)
        await _remove(src, logical)
    await shards.reload_map()
    return MoveReport(logical, source, target, users, claims, sessions)
