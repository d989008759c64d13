"""The worker's batches: a store outage inside a handler's concurrent writes gives the jobs
back (they are retried, not dead-lettered), and a real failure still fails only its own
job."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import DELIVERY, JobDeps, Payload
from app.worker import Worker
from storage.errors import Unavailable
from storage.memory import InProcessJobQueues


class Flaky:
    """Fails its first call the way a handler's task group does when a store is down."""

    kind: ClassVar[str] = "flaky"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 10

    def __init__(self, deps: JobDeps | None = None) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        numbers = [int(p["n"]) for p in payloads]
        self.calls.append(numbers)
        if len(self.calls) == 1:
            raise ExceptionGroup("writes", [Unavailable("down"), Unavailable("still down")])
        if 13 in numbers:
            raise ValueError("thirteen is refused")


async def test_an_outage_inside_a_task_group_releases_the_batch_and_a_bad_job_fails_alone() -> None:
    queues = InProcessJobQueues()
    queue = queues.stream(DELIVERY)
    for n in range(10, 15):
        await queue.enqueue("flaky", {"n": n})
    handler = Flaky()
    worker = Worker(queues, {"flaky": handler}, [DELIVERY], concurrency=1, reclaim_idle_s=60)
    await asyncio.wait_for(worker.drain(), 30)  # releases after the outage's back-off
    await asyncio.wait_for(worker.drain(), 30)
    assert handler.calls[0] == [10, 11, 12, 13, 14]  # one call for the batch: the outage
    assert [10, 11, 12, 13, 14] in handler.calls[1:]  # given back, run again as a batch
    dead = await queue.dead_letters(10)
    assert [job.payload["n"] for job in dead] == [13]  # only the bad job, after its retries
    assert (await queue.backlog()).jobs == 0


class Slow:
    """Runs for several reclaim idle times, counting how often each job ran."""

    kind: ClassVar[str] = "slow"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 1

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.runs: list[int] = []

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        self.runs += [int(p["n"]) for p in payloads]
        await asyncio.sleep(self.seconds)


async def test_a_live_workers_long_job_is_never_taken_by_another_worker() -> None:
    """Worker A runs a job for five reclaim idle times; worker B, reclaiming all along,
    never takes it, because A renews its reservation: the job runs once."""
    queues = InProcessJobQueues()
    await queues.stream(DELIVERY).enqueue("slow", {"n": 1})
    handler = Slow(seconds=1.0)
    a = Worker(queues, {"slow": handler}, [DELIVERY], name="a", reclaim_idle_s=0.2)
    b = Worker(queues, {"slow": handler}, [DELIVERY], name="b", reclaim_idle_s=0.2)
    stop = asyncio.Event()
    running = [asyncio.create_task(w.run(stop, wait_s=0.05)) for w in (a, b)]
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*running), 10)
    assert handler.runs == [1]
    assert (await queues.stream(DELIVERY).backlog()).jobs == 0
