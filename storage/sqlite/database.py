"""One SQLite file shared by every SQLite adapter of a process.

aiosqlite runs a connection on one thread and queues our statements to it, so two
coroutines interleaving statements on the shared connection would run inside each
other's transactions. Every operation therefore holds the database's asyncio.Lock: a
write runs as one BEGIN IMMEDIATE ... COMMIT under it, a read as plain statements.
Other processes (a worker, a second server) are kept apart by SQLite itself: WAL lets
readers go on during a write and busy_timeout makes a second writer wait its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from storage.errors import Conflict, StorageError, Unavailable

BUSY_TIMEOUT_MS = 5_000
# SQLite allows 32766 bound variables since 3.32; stay well below for every statement.
MAX_VARIABLES = 500

# Positional (`?`) or named (`:name`) statement parameters.
Params = Sequence[Any] | Mapping[str, Any]

_UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: \w+\.(\w+)")


def path_from_url(url: str) -> Path:
    """`sqlite:///./data/chirp.db` is relative to the working folder, `sqlite:////abs.db`
    absolute: the path is what follows `sqlite://` minus one slash."""
    parts = urlsplit(url)
    if parts.netloc:
        raise StorageError(f"SQLite URL {url!r} must not name a host: use sqlite:///path.db")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise StorageError(f"SQLite URL {url!r} names no file")
    return Path(path)


def chunked(items: Sequence[Any], size: int = MAX_VARIABLES) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(count: int) -> str:
    return ",".join("?" * count)


def storage_error(error: sqlite3.Error) -> StorageError:
    """Map a driver error onto storage/errors.py; adapters may map more precisely first."""
    if isinstance(error, sqlite3.IntegrityError):
        match = _UNIQUE_FAILED.search(str(error))
        return Conflict(match.group(1)) if match else Conflict("row", str(error))
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return Unavailable(f"SQLite database is busy: {error}")
    return StorageError(f"SQLite error: {error}")


async def connect(path: Path) -> aiosqlite.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: sqlite3 opens no implicit transactions; we BEGIN ourselves.
        conn = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise storage_error(error) from error
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _use_wal(conn)
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException as error:
        await conn.close()
        if isinstance(error, sqlite3.Error):
            raise storage_error(error) from error
        raise
    return conn


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """Switch the file to WAL (a lasting property of the file). The switch needs an exclusive
    lock and SQLite does not wait for it through busy_timeout, so two processes opening a
    new file at once retry here instead of failing with "database is locked"."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = await Tx(conn).row("PRAGMA journal_mode")
            if mode is not None and str(mode[0]).lower() == "wal":
                return
            await Tx(conn).run("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


class Tx:
    """Statements run on the connection while the caller holds the lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def run(self, sql: str, params: Params = ()) -> int:
        """Execute a statement; returns the number of rows it changed."""
        cursor = await self._conn.execute(sql, params)
        changed = cursor.rowcount
        await cursor.close()
        return changed

    async def run_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        cursor = await self._conn.executemany(sql, rows)
        changed = cursor.rowcount
        await cursor.close()
        return changed

    async def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def row(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        found = await self.rows(sql, params)
        return found[0] if found else None


class SqliteDatabase:
    """The shared connection, its lock, and a wake-up signal for the job queue."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.path = path
        self._conn = conn
        self._lock = asyncio.Lock()
        self._jobs_enqueued = asyncio.Event()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A BEGIN IMMEDIATE transaction: committed when the block ends, rolled back when
        it raises. IMMEDIATE takes the write lock up front, so a read-then-write in the
        block cannot be overtaken by another process."""
        async with self._lock:
            try:
                # A cancelled await does not unqueue its statement: BEGIN or COMMIT may still
                # run after the cancellation, so every way out of here ends the transaction.
                try:
                    await self._conn.execute("BEGIN IMMEDIATE")
                    yield Tx(self._conn)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
            except sqlite3.Error as error:
                raise storage_error(error) from error

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._lock:
            try:
                yield Tx(self._conn)
            except sqlite3.Error as error:
                raise storage_error(error) from error

    async def _rollback(self) -> None:
        # SQLite may already have rolled back (e.g. after SQLITE_FULL); that is fine.
        with contextlib.suppress(sqlite3.Error):
            await self._conn.execute("ROLLBACK")

    def notify_jobs(self) -> None:
        """Wake every same-process consumer waiting in reserve()."""
        self._jobs_enqueued.set()
        self._jobs_enqueued = asyncio.Event()

    @property
    def jobs_enqueued(self) -> asyncio.Event:
        return self._jobs_enqueued

    async def close(self) -> None:
        await self._conn.close()
