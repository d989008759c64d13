"""SqliteJobQueue: one stream of a durable at-least-once job queue in the `jobs` table.

Every stream lives in the one table, told apart by its `stream` column. A job is pending,
reserved (by a consumer, since reserved_at) or dead. Reserving is one UPDATE ... RETURNING
under BEGIN IMMEDIATE, so no two consumers (in this process or another) get the same job. A
consumer in this process waits on an asyncio.Event that enqueue sets; jobs enqueued by other
processes are found by polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storage.records import Backlog, Job
from storage.sqlite.database import SqliteDatabase
from storage.streams import JobStreams

DEFAULT_MAX_ATTEMPTS = 5
POLL_S = 0.05
_RECLAIMED = "reclaimed: not acknowledged in time"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SqliteJobQueue:
    def __init__(
        self,
        db: SqliteDatabase,
        stream: str = "default",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        poll_s: float = POLL_S,
        clock_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        self._db = db
        self._stream = stream
        self._max_attempts = max_attempts
        self._poll_s = poll_s
        # Wall-clock milliseconds: reserved_at is compared across processes.
        self._clock_ms = clock_ms

    async def enqueue(self, kind: str, payload: Mapping[str, Any]) -> str:
        async with self._db.write() as tx:
            row = await tx.row(
                "INSERT INTO jobs (stream, kind, payload, created_at) VALUES (?, ?, ?, ?) "
                "RETURNING job_id",
                (self._stream, kind, json.dumps(dict(payload)), self._clock_ms()),
            )
        self._db.notify_jobs()
        assert row is not None
        return str(row["job_id"])

    async def reserve(self, consumer: str, limit: int, wait_s: float) -> list[Job]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            # Taken before looking, so an enqueue between the look and the wait still wakes us.
            enqueued = self._db.jobs_enqueued
            jobs = await self._take(consumer, limit)
            remaining = deadline - loop.time()
            if jobs or remaining <= 0:
                return jobs
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enqueued.wait(), timeout=min(self._poll_s, remaining))

    async def _take(self, consumer: str, limit: int) -> list[Job]:
        if limit <= 0:
            return []
        async with self._db.read() as tx:
            # A cheap look first: an idle poll should not take the write lock.
            idle = await tx.row(
                "SELECT 1 FROM jobs WHERE stream = ? AND status = 'pending' LIMIT 1",
                (self._stream,),
            )
            if idle is None:
                return []
        async with self._db.write() as tx:
            rows = await tx.rows(
                "UPDATE jobs SET status = 'reserved', consumer = ?, reserved_at = ? "
                "WHERE job_id IN (SELECT job_id FROM jobs WHERE stream = ? AND status = 'pending' "
                "ORDER BY job_id LIMIT ?) RETURNING job_id, kind, payload, attempts",
                (consumer, self._clock_ms(), self._stream, limit),
            )
        jobs = [
            Job(str(row["job_id"]), row["kind"], json.loads(row["payload"]), row["attempts"])
            for row in rows
        ]
        return sorted(jobs, key=lambda job: int(job.id))

    async def ack(self, job: Job) -> None:
        async with self._db.write() as tx:
            await tx.run("DELETE FROM jobs WHERE job_id = ?", (int(job.id),))

    async def ack_many(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        async with self._db.write() as tx:
            await tx.run_many("DELETE FROM jobs WHERE job_id = ?", [(int(j.id),) for j in jobs])

    async def fail(self, job: Job, error: str) -> None:
        """Counts an attempt; the job is dead once it has failed max_attempts times."""
        async with self._db.write() as tx:
            changed = await tx.run(
                "UPDATE jobs SET attempts = attempts + 1, last_error = ?, consumer = NULL, "
                "reserved_at = NULL, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE 'pending' END "
                "WHERE job_id = ? AND status = 'reserved'",
                (error, self._max_attempts, int(job.id)),
            )
        if changed:
            self._db.notify_jobs()

    async def release(self, job: Job) -> None:
        async with self._db.write() as tx:
            changed = await tx.run(
                "UPDATE jobs SET status = 'pending', consumer = NULL, reserved_at = NULL "
                "WHERE job_id = ? AND status = 'reserved'",
                (int(job.id),),
            )
        if changed:
            self._db.notify_jobs()

    async def renew(self, consumer: str, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        now = self._clock_ms()
        async with self._db.write() as tx:
            await tx.run_many(
                "UPDATE jobs SET reserved_at = ? "
                "WHERE job_id = ? AND status = 'reserved' AND consumer = ?",
                [(now, int(job.id), consumer) for job in jobs],
            )

    async def reclaim(self, idle_s: float) -> int:
        """A reclaimed job counts as a failed attempt, so a job that kills its consumer
        every time ends up dead instead of circling forever."""
        cutoff = self._clock_ms() - round(idle_s * 1000)
        async with self._db.write() as tx:
            changed = await tx.run(
                "UPDATE jobs SET attempts = attempts + 1, last_error = ?, consumer = NULL, "
                "reserved_at = NULL, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE 'pending' END "
                "WHERE stream = ? AND status = 'reserved' AND reserved_at <= ?",
                (_RECLAIMED, self._max_attempts, self._stream, cutoff),
            )
        if changed:
            self._db.notify_jobs()
        return changed

    async def dead_letters(self, limit: int) -> list[Job]:
        async with self._db.read() as tx:
            rows = await tx.rows(
                "SELECT job_id, kind, payload, attempts FROM jobs "
                "WHERE stream = ? AND status = 'dead' ORDER BY job_id LIMIT ?",
                (self._stream, limit),
            )
        return [
            Job(str(row["job_id"]), row["kind"], json.loads(row["payload"]), row["attempts"])
            for row in rows
        ]

    def lost(self) -> bool:
        return False

    async def backlog(self) -> Backlog:
        async with self._db.read() as tx:
            row = await tx.row(
                "SELECT count(*) AS jobs, min(created_at) AS oldest FROM jobs "
                "WHERE stream = ? AND status IN ('pending', 'reserved')",
                (self._stream,),
            )
        if row is None or not row["jobs"]:
            return Backlog(0, 0.0)
        return Backlog(row["jobs"], max(0.0, (self._clock_ms() - row["oldest"]) / 1000))


class SqliteJobQueues(JobStreams[SqliteJobQueue]):
    """Named streams over the one `jobs` table."""

    def __init__(self, db: SqliteDatabase, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        super().__init__()
        self._db = db
        self._max_attempts = max_attempts

    def _open(self, name: str) -> SqliteJobQueue:
        return SqliteJobQueue(self._db, name, self._max_attempts)
