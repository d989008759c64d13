"""PostgreSQL adapters for users, user_stats, user_settings, sessions and moderation.

`postgresql://h/db[,postgresql://h2/db...]`: the physical shards, in order. Users are placed
by the hash of their id on 100 logical shards; the shard map (on the first physical shard,
read at start-up) places logical shards on physical ones. `migrate(url)` applies the
versioned SQL files in storage/postgres/migrations/ to every shard and creates the map.
"""

from __future__ import annotations

import asyncio
from importlib import resources as package_files
from typing import TYPE_CHECKING

import asyncpg

from storage.postgres.lifecycle import PostgresLifecycleStore
from storage.postgres.moderation import PostgresModerationStore
from storage.postgres.shards import Shards, driver_errors, split_dsns
from storage.postgres.users import PostgresSessionStore, PostgresUserStore
from storage.registry import Resources
from storage.sharding import LOGICAL_SHARDS

if TYPE_CHECKING:
    from storage.ports import ModerationStore, SessionStore, UserStore

__all__ = [
    "PostgresLifecycleStore",
    "PostgresModerationStore",
    "PostgresSessionStore",
    "PostgresUserStore",
    "migrate",
]
MIGRATION_LOCK = 0x43_48_49_52_50  # "CHIRP": one migrator per database at a time


async def _shards(url: str, resources: Resources) -> Shards:
    async def close(shards: Shards) -> None:
        await shards.close()

    settings = resources.settings
    sizes = {
        "min_size": getattr(settings, "pg_pool_min", 1),
        "max_size": getattr(settings, "pg_pool_max", 10),
    }
    shards: Shards = await resources.shared(
        f"postgres:{url}", lambda: Shards.open(url, **sizes), close
    )
    return shards


async def open_user_store(url: str, resources: Resources) -> PostgresUserStore:
    return PostgresUserStore(await _shards(url, resources))


async def open_session_store(url: str, resources: Resources) -> PostgresSessionStore:
    return PostgresSessionStore(await _shards(url, resources))


async def open_moderation_store(url: str, resources: Resources) -> PostgresModerationStore:
    return PostgresModerationStore(await _shards(url, resources))


async def open_lifecycle_store(url: str, resources: Resources) -> PostgresLifecycleStore:
    return PostgresLifecycleStore(await _shards(url, resources))


def _migrations() -> list[tuple[str, str]]:
    folder = package_files.files("storage.postgres") / "migrations"
    files = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
    return [(entry.name.removesuffix(".sql"), entry.read_text()) for entry in files]


async def _migrate_one(dsn: str, first: bool, physical: int) -> list[str]:
    async with driver_errors("migrate"):
        conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for version, sql in _migrations():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied.append(version)
        if first:  # a new map puts logical shards round robin on the physical ones
            await conn.executemany(
                "INSERT INTO shard_map (logical_shard, physical_shard) VALUES ($1, $2) "
                "ON CONFLICT (logical_shard) DO NOTHING",
                [(shard, shard % physical) for shard in range(LOGICAL_SHARDS)],
            )
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        await conn.close()


async def migrate(url: str) -> list[str]:
    dsns = split_dsns(url)
    results = await asyncio.gather(
        *(_migrate_one(dsn, index == 0, len(dsns)) for index, dsn in enumerate(dsns))
    )
    return sorted({version for applied in results for version in applied})


if TYPE_CHECKING:
    _checks: tuple[UserStore, SessionStore, ModerationStore] = (
        PostgresUserStore(None),  # type: ignore[arg-type]
        PostgresSessionStore(None),  # type: ignore[arg-type]
        PostgresModerationStore(None),  # type: ignore[arg-type]
    )
