"""Job consumers: run in the server process by default, or alone with `chirp worker`.

A worker consumes each of its streams on its own loop, so a slow or failing stream never
holds up another. On each stream it keeps up to `concurrency` handler calls in flight; jobs
of a kind whose handler takes batches are handed over up to `max_batch` at a time. Every job
is acknowledged on its own once its handler returned. Beside the streams it runs periodic
work that belongs to whoever runs the jobs (flushing buffered view counts: app/views.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from app.jobs.base import JobHandler
from app.metrics import METRICS
from app.tracing import job_span, without_trace
from storage.errors import StorageError, Unavailable
from storage.ports import JobQueue, JobQueues
from storage.records import Job

log = logging.getLogger("chirp.worker")

RECLAIM_EVERY_S = 1.0
SPOOL_DRAIN_EVERY_S = 1.0
# A worker renews the reservation of every job it runs this often (per idle time), so a
# dead worker's jobs go back after RECLAIM_IDLE_S and a live one's never do.
RECLAIM_IDLE_S = 4.0
RENEWALS_PER_IDLE = 4
MAX_BACKOFF_S = 15.0
DEFAULT_CONCURRENCY = 32
MAX_RESERVE = 1_000


def _unavailable(error: BaseException) -> bool:
    """A store was unavailable: the error itself, or every error of a task group."""
    if isinstance(error, BaseExceptionGroup):
        return all(_unavailable(inner) for inner in error.exceptions)
    return isinstance(error, Unavailable)


def _first_error(error: BaseException) -> BaseException:
    """The first error inside (nested) task groups: what to name in a log line."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Periodic(Protocol):
    """Work done on a clock beside the streams."""

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set, then once more (nothing is left behind at shutdown)."""

    async def flush(self) -> object:
        """Once, now (`drain`: `chirp worker --once`, seeding, tests)."""


class Worker:
    def __init__(
        self,
        queues: JobQueues,
        handlers: Mapping[str, JobHandler],
        streams: Sequence[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        name: str | None = None,
        reclaim_idle_s: float = RECLAIM_IDLE_S,
        periodic: Sequence[Periodic] = (),
        on_lost: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        name = name or consumer_name()
        self.periodic = list(periodic)
        self.consumers = [
            StreamConsumer(
                queues.stream(stream),
                {k: h for k, h in handlers.items() if h.stream == stream},
                name=name,
                concurrency=concurrency,
                reclaim_idle_s=reclaim_idle_s,
                stream=stream,
                on_lost=on_lost,
            )
            for stream in streams
        ]

    async def run(self, stop: asyncio.Event, wait_s: float = 1.0) -> None:
        await asyncio.gather(
            *(consumer.run(stop, wait_s) for consumer in self.consumers),
            *(work.run(stop) for work in self.periodic),
        )

    async def drain(self, progress: Callable[[int], object] | None = None) -> int:
        """Run jobs until no stream has any ready (`chirp worker --once`, seeding, tests);
        returns how many ran. `progress` hears of jobs as they are taken."""
        total = 0
        while taken := sum(await self._drain_each(progress)):
            total += taken
        for work in self.periodic:
            await work.flush()
        return total

    async def _drain_each(self, progress: Callable[[int], object] | None) -> list[int]:
        """One drain of every stream at once; a stream that fails raises only once every
        other one is done (none goes on running behind the caller's back)."""
        done = await asyncio.gather(
            *(c.drain(progress) for c in self.consumers), return_exceptions=True
        )
        for result in done:
            if isinstance(result, BaseException):
                raise result
        return [int(taken) for taken in done]  # type: ignore[arg-type]


class StreamConsumer:
    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        *,
        name: str,
        concurrency: int,
        reclaim_idle_s: float,
        stream: str = "",
        on_lost: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self._queue = queue
        self._stream = stream
        self._on_lost = on_lost
        self._rebuilding: asyncio.Task[object] | None = None
        self._handlers = handlers
        self._name = name
        limits = [getattr(h, "max_concurrency", concurrency) for h in handlers.values()]
        self._concurrency = max(1, min([concurrency, *limits]))
        self._max_batch = max((h.max_batch for h in handlers.values()), default=1)
        self._reclaim_idle_s = reclaim_idle_s
        self._in_flight: set[asyncio.Task[None]] = set()
        self._running: dict[str, Job] = {}  # reserved and not yet given back: renewed
        self._outages = 0
        self._paused_until = 0.0

    async def run(self, stop: asyncio.Event, wait_s: float = 1.0) -> None:
        async with self._renewing():
            await self._consume(stop, wait_s)

    async def _consume(self, stop: asyncio.Event, wait_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_reclaim = next_spool_drain = loop.time()
        drain_spool = getattr(self._queue, "drain_spool", None)
        try:
            while not stop.is_set():
                try:
                    if loop.time() >= next_reclaim:
                        await self._queue.reclaim(self._reclaim_idle_s)
                        self._check_lost()
                        next_reclaim = loop.time() + min(RECLAIM_EVERY_S, self._reclaim_idle_s / 4)
                    if drain_spool is not None and loop.time() >= next_spool_drain:
                        # Jobs spooled while the shared queue was down: a look each second,
                        # not each round (a busy stream has many rounds a second).
                        await drain_spool()
                        next_spool_drain = loop.time() + SPOOL_DRAIN_EVERY_S
                    await self._take(wait_s)
                except StorageError:
                    log.warning("job queue unavailable; retrying", exc_info=True)
                    await asyncio.sleep(1.0)
        finally:
            await self._settle()
            if self._rebuilding is not None:
                await asyncio.gather(self._rebuilding, return_exceptions=True)

    async def drain(self, progress: Callable[[int], object] | None = None) -> int:
        """Take and run everything ready now (the jobs of a lost stream rebuilt too);
        returns how many jobs it took."""
        taken = 0
        drain_spool = getattr(self._queue, "drain_spool", None)
        async with self._renewing():
            while True:
                if drain_spool is not None:
                    await drain_spool()  # what was spooled while Redis was away goes too
                batch = await self._take(0.0)
                if not batch and self._rebuilding is not None:
                    rebuilding, self._rebuilding = self._rebuilding, None
                    await rebuilding
                    continue
                if not batch:
                    break
                taken += batch
                if progress is not None:
                    progress(batch)
            await self._settle()
        return taken

    def _check_lost(self) -> None:
        """The stream vanished (its Redis restarted empty): its jobs are gone. Said loudly,
        counted, and rebuilt in the background (app/reconcile.py)."""
        if not self._queue.lost():
            return
        METRICS.streams_lost[self._stream] += 1
        log.error(
            "job stream %r was lost (Redis restarted without its data): every job it held is "
            "gone; rebuilding them from the stores",
            self._stream,
        )
        if self._on_lost is not None and (self._rebuilding is None or self._rebuilding.done()):
            self._rebuilding = asyncio.create_task(self._rebuild())

    async def _rebuild(self) -> object:
        assert self._on_lost is not None
        try:
            return await self._on_lost(self._stream)
        except Exception:
            log.exception("could not rebuild the jobs of the lost stream %r", self._stream)
            raise

    @contextlib.asynccontextmanager
    async def _renewing(self) -> AsyncIterator[None]:
        """While consuming: renew the reservation of every job this consumer holds, so no
        other worker reclaims a live worker's jobs, however long they run."""
        renewer = asyncio.create_task(self._renew_forever())
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew_forever(self) -> None:
        every = self._reclaim_idle_s / RENEWALS_PER_IDLE
        while True:
            await asyncio.sleep(every)
            if not self._running:
                continue
            try:
                await self._queue.renew(self._name, list(self._running.values()))
            except StorageError:
                log.warning("could not renew %d job reservation(s)", len(self._running))

    async def _take(self, wait_s: float) -> int:
        """Wait for a free slot, reserve what the free slots can run, start it."""
        loop = asyncio.get_running_loop()
        if (pause := self._paused_until - loop.time()) > 0:
            await asyncio.sleep(pause)
        if len(self._in_flight) >= self._concurrency:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        free = self._concurrency - len(self._in_flight)
        # With work in flight, look without blocking long: a finished call frees a slot.
        wait = wait_s if not self._in_flight else min(wait_s, 0.05)
        jobs = await self._queue.reserve(self._name, min(MAX_RESERVE, free * self._max_batch), wait)
        self._check_lost()
        for chunk in self._chunks(jobs):
            task = asyncio.create_task(self._run(chunk))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(jobs)

    def _chunks(self, jobs: list[Job]) -> list[list[Job]]:
        """Jobs of one kind together, at most its handler's max_batch per call."""
        by_kind: dict[str, list[Job]] = {}
        for job in jobs:
            by_kind.setdefault(job.kind, []).append(job)
        chunks = []
        for kind, same in by_kind.items():
            size = self._handlers[kind].max_batch if kind in self._handlers else 1
            chunks += [same[start : start + size] for start in range(0, len(same), size)]
        return chunks

    async def _run(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._running[job.id] = job
        try:
            await self._run_held(jobs)
        finally:
            for job in jobs:
                self._running.pop(job.id, None)

    async def _run_held(self, jobs: list[Job]) -> None:
        kind = jobs[0].kind
        handler = self._handlers.get(kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r} on this stream")
            payloads, traceparents = zip(*(without_trace(job.payload) for job in jobs), strict=True)
            with job_span(kind, traceparents):
                await handler(list(payloads))
        except Exception as error:
            if not _unavailable(error):
                await self._failed(jobs, error)
                return
            # Not the jobs' fault: wait (longer each time), give them back uncounted.
            log.warning(
                "%d %s job(s): a store is unavailable (%s); retrying later",
                len(jobs),
                kind,
                _first_error(error),
            )
            await self._pause()
            for job in jobs:
                await self._queue.release(job)
            return
        self._outages = 0
        METRICS.jobs[(kind, "done")] += len(jobs)
        await self._queue.ack_many(jobs)

    async def _failed(self, jobs: list[Job], error: Exception) -> None:
        """A failing job must not stop the others: a batch is retried one job at a time."""
        if len(jobs) > 1:
            for job in jobs:
                await self._run([job])
            return
        kind = jobs[0].kind
        log.error("job %s (%s) failed", jobs[0].id, kind, exc_info=error)
        METRICS.jobs[(kind, "failed")] += 1
        await self._queue.fail(jobs[0], f"{type(error).__name__}: {error}")

    async def _pause(self) -> None:
        """0.5 s, 1 s, 2 s ... up to MAX_BACKOFF_S, the jobs still held (and renewed, so no
        one reclaims them); the stream takes no new jobs meanwhile."""
        self._outages += 1
        delay = float(min(0.5 * 2 ** (self._outages - 1), MAX_BACKOFF_S))
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + delay)
        await asyncio.sleep(delay)

    async def _settle(self) -> None:
        """Let the calls in flight finish (their jobs are acknowledged or given back)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
