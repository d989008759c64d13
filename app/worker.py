"""Job consumers: run in the server process by default, or alone with `chirp worker`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from app.metrics import METRICS
from storage.errors import StorageError, Unavailable
from storage.ports import JobQueue

log = logging.getLogger("chirp.worker")

Handler = Callable[[str, Mapping[str, Any]], Awaitable[None]]
RECLAIM_EVERY_S = 15.0
RECLAIM_IDLE_S = 60.0
MAX_BACKOFF_S = 15.0


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handler: Handler,
        name: str | None = None,
        batch: int = 16,
        reclaim_idle_s: float = RECLAIM_IDLE_S,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._name = name or consumer_name()
        self._batch = batch
        self._reclaim_idle_s = reclaim_idle_s
        self._outages = 0

    async def run_once(self, wait_s: float = 0.0) -> int:
        """Reserve and run one batch; returns how many jobs it took."""
        batch = await self._queue.reserve(self._name, self._batch, wait_s)
        for index, job in enumerate(batch):
            try:
                await self._handler(job.kind, job.payload)
            except Unavailable:
                # Not the job's fault: wait (longer each time), give the batch back uncounted.
                log.warning("job %s (%s): a store is unavailable; retrying later", job.id, job.kind)
                await asyncio.sleep(self._backoff())
                for waiting in batch[index:]:
                    await self._queue.release(waiting)
                return len(batch)
            except Exception as error:  # a failing job must not stop the others
                log.exception("job %s (%s) failed", job.id, job.kind)
                METRICS.jobs[(job.kind, "failed")] += 1
                await self._queue.fail(job, f"{type(error).__name__}: {error}")
            else:
                METRICS.jobs[(job.kind, "done")] += 1
                await self._queue.ack(job)
            self._outages = 0
        return len(batch)

    def _backoff(self) -> float:
        """0.5 s, 1 s, 2 s ... capped below the reclaim time, so no one reclaims the batch."""
        self._outages += 1
        return float(min(0.5 * 2 ** (self._outages - 1), MAX_BACKOFF_S, self._reclaim_idle_s / 3))

    async def drain(self) -> None:
        """Run jobs until the queue has none ready (tests and `chirp worker --once`)."""
        while await self.run_once():
            pass

    async def run(self, stop: asyncio.Event, wait_s: float = 1.0) -> None:
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        while not stop.is_set():
            try:
                if loop.time() >= next_reclaim:
                    await self._queue.reclaim(self._reclaim_idle_s)
                    next_reclaim = loop.time() + min(RECLAIM_EVERY_S, self._reclaim_idle_s / 2)
                drain = getattr(self._queue, "drain_spool", None)
                if drain is not None:  # jobs spooled locally while the shared queue was down
                    await drain()
                await self.run_once(wait_s)
            except StorageError:
                log.warning("job queue unavailable; retrying", exc_info=True)
                await asyncio.sleep(1.0)
