"""Versioned schema migrations: storage/sqlite/migrations/NNNN_name.sql, applied in order.

`migrate` holds SQLite's write lock (BEGIN IMMEDIATE) while it reads which versions are
applied and applies the rest, so two processes migrating at once apply each file once.
Each file runs statement by statement inside that transaction (executescript would
commit on its own and drop the lock).
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import StorageError
from storage.records import ms_from_utc, utcnow
from storage.sqlite.database import Tx, connect, path_from_url, storage_error

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at INTEGER NOT NULL
)"""


@dataclass(frozen=True)
class Migration:
    version: str  # the file name without .sql, e.g. "0001_initial"
    sql: str


def migrations() -> list[Migration]:
    folder = resources.files("storage.sqlite") / "migrations"
    found = [
        Migration(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda migration: migration.version)


def statements(script: str) -> list[str]:
    """Split a script into complete statements (a trigger body's ';' does not end one)."""
    found: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise StorageError(f"migration ends in an incomplete statement: {pending.strip()[:80]!r}")
    return found


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


async def migrate(url: str) -> list[str]:
    """Apply the migrations this file lacks; returns the versions applied (none if current)."""
    conn = await connect(path_from_url(url))
    try:
        return await _apply_missing(conn)
    except sqlite3.Error as error:
        raise storage_error(error) from error
    finally:
        await conn.close()


async def _apply_missing(conn: aiosqlite.Connection) -> list[str]:
    tx = Tx(conn)
    await tx.run("BEGIN IMMEDIATE")
    try:
        await tx.run(_CREATE_TABLE)
        applied = {row["version"] for row in await tx.rows("SELECT version FROM schema_migrations")}
        done: list[str] = []
        for migration in migrations():
            if migration.version in applied:
                continue
            for statement in statements(migration.sql):
                await tx.run(statement)
            await tx.run(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (migration.version, ms_from_utc(utcnow())),
            )
            done.append(migration.version)
        await tx.run("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await tx.run("ROLLBACK")
        raise
    return done


async def missing_versions(conn: aiosqlite.Connection) -> list[str]:
    """Versions the file still needs; every one when it was never migrated."""
    known = [migration.version for migration in migrations()]
    table = await Tx(conn).row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    )
    if table is None:
        return known
    rows = await Tx(conn).rows("SELECT version FROM schema_migrations")
    applied = {row["version"] for row in rows}
    return [version for version in known if version not in applied]


def describe(path: Path, missing: list[str]) -> str:
    return (
        f"the SQLite database {str(path)!r} lacks schema migrations {', '.join(missing)}: "
        "run `chirp migrate` first"
    )
