"""SpoolingJobQueue: a shared queue (Redis) with a durable local spool in front of it.

When the shared queue cannot take a job (Redis is down), the job is written to a local
SQLite queue instead, so the write that queued it still succeeds; `drain_spool` moves
spooled jobs into the shared queue once it answers again (the worker calls it each round).
Everything else goes to the shared queue. `SpoolingJobQueues` pairs each shared stream with
a spool stream of the same name."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from storage.errors import Unavailable
from storage.ports import JobQueue, JobQueues
from storage.records import Backlog, Job
from storage.streams import JobStreams

log = logging.getLogger("chirp.spool")
SPOOL_CONSUMER = "spool-drain"


class SpoolingJobQueue:
    def __init__(self, shared: JobQueue, spool: JobQueue) -> None:
        self._shared = shared
        self._spool = spool

    async def enqueue(self, kind: str, payload: Mapping[str, Any]) -> str:
        try:
            return await self._shared.enqueue(kind, payload)
        except Unavailable:
            log.warning("shared job queue unavailable: spooling a %s job locally", kind)
            return await self._spool.enqueue(kind, payload)

    async def drain_spool(self, batch: int = 100) -> int:
        """Moves spooled jobs to the shared queue; stops at the first failure."""
        moved = 0
        await self._spool.reclaim(idle_s=30)  # a drain that died half-way
        while jobs := await self._spool.reserve(SPOOL_CONSUMER, batch, wait_s=0):
            for job in jobs:
                try:
                    await self._shared.enqueue(job.kind, job.payload)
                except Unavailable:
                    await self._spool.fail(job, "shared queue still unavailable")
                    return moved
                await self._spool.ack(job)
                moved += 1
        return moved

    async def reserve(self, consumer: str, limit: int, wait_s: float) -> list[Job]:
        return await self._shared.reserve(consumer, limit, wait_s)

    async def ack(self, job: Job) -> None:
        await self._shared.ack(job)

    async def ack_many(self, jobs: Sequence[Job]) -> None:
        await self._shared.ack_many(jobs)

    async def fail(self, job: Job, error: str) -> None:
        await self._shared.fail(job, error)

    async def release(self, job: Job) -> None:
        await self._shared.release(job)

    async def renew(self, consumer: str, jobs: Sequence[Job]) -> None:
        await self._shared.renew(consumer, jobs)

    async def reclaim(self, idle_s: float) -> int:
        return await self._shared.reclaim(idle_s)

    async def dead_letters(self, limit: int) -> list[Job]:
        return await self._shared.dead_letters(limit)

    def lost(self) -> bool:
        return self._shared.lost()

    async def backlog(self) -> Backlog:
        """The shared stream's backlog plus what waits in the spool."""
        shared = await self._shared.backlog()
        spooled = await self._spool.backlog()
        return Backlog(shared.jobs + spooled.jobs, max(shared.oldest_age_s, spooled.oldest_age_s))


class SpoolingJobQueues(JobStreams[SpoolingJobQueue]):
    def __init__(self, shared: JobQueues, spool: JobQueues) -> None:
        super().__init__()
        self._shared = shared
        self._spool = spool

    def _open(self, name: str) -> SpoolingJobQueue:
        return SpoolingJobQueue(self._shared.stream(name), self._spool.stream(name))
