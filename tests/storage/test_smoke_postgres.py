"""The PostgreSQL that scripts/services starts is the real one, on both shard databases."""

from __future__ import annotations

import secrets

import asyncpg

from tests.backends import backend_url


async def test_real_postgresql_on_both_shards() -> None:
    dsns = backend_url("CHIRP_USERS_URL").split(",")
    assert len(dsns) == 2
    table = f"smoke_{secrets.token_hex(4)}"
    for dsn in dsns:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            version = await conn.fetchval("SHOW server_version_num")
            assert int(version) >= 150000  # PostgreSQL 15 or newer
            await conn.execute(f"CREATE TEMP TABLE {table} (id BIGINT PRIMARY KEY, name TEXT)")
            await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", 1, dsn)
            assert await conn.fetchval(f"SELECT name FROM {table} WHERE id = 1") == dsn
            assert await conn.fetchval("SELECT current_database()") == dsn.rsplit("/", 1)[1]
        finally:
            await conn.close()
