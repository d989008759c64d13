"""JobQueue contract: at-least-once delivery, never to two consumers at once; failed jobs
come back until they die; jobs of a dead consumer are reclaimed; durable queues keep
their jobs across a restart."""

from __future__ import annotations

import asyncio
import time

from storage.ports import JobQueue, JobQueues
from storage.records import Backlog, Job
from storage.registry import Resources, open_port
from tests.storage.contract.conftest import SETTINGS

MAX_ATTEMPTS = 5  # every adapter's default


async def test_enqueue_reserve_ack(job_queue: JobQueue) -> None:
    payload = {"tweet_id": 383377096730046467, "owners": [1, 2], "text": "héllo"}
    job_id = await job_queue.enqueue("fan_out", payload)
    [job] = await job_queue.reserve("worker-1", 10, wait_s=1)
    assert job == Job(job_id, "fan_out", payload, attempts=0)
    await job_queue.ack(job)
    assert await job_queue.reclaim(0) == 0
    assert await job_queue.reserve("worker-1", 10, wait_s=0) == []


async def test_reserve_takes_at_most_limit_oldest_first(job_queue: JobQueue) -> None:
    ids = [await job_queue.enqueue("k", {"n": n}) for n in range(5)]
    first = await job_queue.reserve("w", 3, wait_s=1)
    rest = await job_queue.reserve("w", 10, wait_s=1)
    assert [job.id for job in first] == ids[:3]
    assert [job.id for job in rest] == ids[3:]
    assert [job.payload["n"] for job in first + rest] == list(range(5))


async def test_reserve_waits_at_most_wait_s(job_queue: JobQueue) -> None:
    started = time.monotonic()
    assert await job_queue.reserve("w", 1, wait_s=0.2) == []
    assert 0.15 <= time.monotonic() - started < 2


async def test_a_waiting_consumer_wakes_when_a_job_arrives(job_queue: JobQueue) -> None:
    started = time.monotonic()
    waiting = asyncio.create_task(job_queue.reserve("w", 1, wait_s=10))
    await asyncio.sleep(0.05)
    await job_queue.enqueue("k", {"late": True})
    [job] = await asyncio.wait_for(waiting, 5)
    assert job.payload == {"late": True}
    assert time.monotonic() - started < 2


async def test_no_job_goes_to_two_consumers(job_queue: JobQueue) -> None:
    ids = {await job_queue.enqueue("k", {"n": n}) for n in range(30)}
    taken: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    async def consume(name: str) -> None:
        while jobs := await job_queue.reserve(name, 4, wait_s=0.1):
            taken[name] += [job.id for job in jobs]

    await asyncio.gather(*(consume(name) for name in taken))
    everything = [job_id for jobs in taken.values() for job_id in jobs]
    assert sorted(everything) == sorted(ids)  # each exactly once


async def test_a_renewed_job_is_never_reclaimed_and_one_left_alone_is(
    job_queue: JobQueue,
) -> None:
    """The renewal is the worker's heartbeat: a live worker keeps a long job, a dead one's
    job goes back once it was not renewed for the idle time."""
    kept_id = await job_queue.enqueue("k", {"n": "kept"})
    lost_id = await job_queue.enqueue("k", {"n": "lost"})
    [kept] = await job_queue.reserve("alive", 1, wait_s=1)
    [lost] = await job_queue.reserve("dead", 1, wait_s=1)
    assert (kept.id, lost.id) == (kept_id, lost_id)
    for _ in range(4):  # four idle times pass; the live worker renews within each
        await asyncio.sleep(0.1)
        await job_queue.renew("alive", [kept])
        await job_queue.renew("alive", [])
        assert await job_queue.reclaim(idle_s=0.08) <= 1
    [again] = await job_queue.reserve("other", 10, wait_s=1)
    assert again.id == lost_id  # only the dead worker's job came back
    await job_queue.ack(kept)  # the live worker finished it
    await job_queue.ack(again)
    await job_queue.renew("alive", [kept])  # a late renewal of a finished job is harmless
    assert (await job_queue.backlog()).jobs == 0


async def test_a_reserved_job_is_invisible_until_reclaimed(job_queue: JobQueue) -> None:
    job_id = await job_queue.enqueue("k", {"x": 1})
    [taken] = await job_queue.reserve("dies", 1, wait_s=1)
    assert taken.id == job_id
    assert await job_queue.reserve("other", 1, wait_s=0.05) == []
    assert await job_queue.reclaim(idle_s=60) == 0
    await asyncio.sleep(0.05)
    assert await job_queue.reclaim(idle_s=0.01) == 1
    [again] = await job_queue.reserve("other", 1, wait_s=1)
    assert (again.id, again.kind, again.payload) == (job_id, "k", {"x": 1})
    await job_queue.ack(again)


async def test_failed_job_comes_back_then_dies_after_max_attempts(job_queue: JobQueue) -> None:
    job_id = await job_queue.enqueue("k", {"poison": True})
    for attempt in range(MAX_ATTEMPTS):
        [job] = await job_queue.reserve("w", 1, wait_s=1)
        assert (job.id, job.attempts) == (job_id, attempt)
        assert await job_queue.dead_letters(10) == []
        await job_queue.fail(job, f"boom {attempt}")
    assert await job_queue.reserve("w", 1, wait_s=0.05) == []
    [dead] = await job_queue.dead_letters(10)
    assert (dead.id, dead.payload, dead.attempts) == (job_id, {"poison": True}, MAX_ATTEMPTS)


async def test_dead_letters_respects_limit(job_queue: JobQueue) -> None:
    for n in range(3):
        await job_queue.enqueue("k", {"n": n})
    for _ in range(MAX_ATTEMPTS):
        for job in await job_queue.reserve("w", 3, wait_s=1):
            await job_queue.fail(job, "always")
    assert len(await job_queue.dead_letters(2)) == 2
    assert len(await job_queue.dead_letters(10)) == 3


async def test_durable_queue_keeps_jobs_across_restart(durable_queue_url: str) -> None:
    before = Resources(SETTINGS)
    queue: JobQueue = (await open_port("queues", durable_queue_url, before)).stream("durable")
    in_flight = await queue.enqueue("k", {"state": "reserved when the process died"})
    waiting = await queue.enqueue("k", {"state": "pending when the process died"})
    [taken] = await queue.reserve("crashes", 1, wait_s=1)
    assert taken.id == in_flight
    await before.close()

    after = Resources(SETTINGS)
    try:
        queue = (await open_port("queues", durable_queue_url, after)).stream("durable")
        [job] = await queue.reserve("new", 5, wait_s=1)
        assert (job.id, job.payload) == (waiting, {"state": "pending when the process died"})
        await queue.ack(job)
        await asyncio.sleep(0.05)
        assert await queue.reclaim(idle_s=0.01) == 1
        [reclaimed] = await queue.reserve("new", 5, wait_s=1)
        assert reclaimed.id == in_flight
        assert reclaimed.payload == {"state": "reserved when the process died"}
    finally:
        await after.close()


async def test_a_released_job_comes_back_without_counting_an_attempt(job_queue: JobQueue) -> None:
    job_id = await job_queue.enqueue("k", {"needs": "a store that is down"})
    for _ in range(MAX_ATTEMPTS + 2):  # more releases than attempts: still not dead
        [job] = await job_queue.reserve("w", 1, wait_s=1)
        assert (job.id, job.attempts) == (job_id, 0)
        await job_queue.release(job)
    [job] = await job_queue.reserve("w", 1, wait_s=1)
    assert job.payload == {"needs": "a store that is down"}
    await job_queue.ack(job)
    assert await job_queue.dead_letters(10) == []


async def test_streams_are_independent(job_queues: JobQueues) -> None:
    """A backlog on one stream never stands in the way of another's jobs."""
    slow, urgent = job_queues.stream("slow"), job_queues.stream("urgent")
    for n in range(20):
        await slow.enqueue("index", {"n": n})
    urgent_id = await urgent.enqueue("fan_out", {"tweet_id": 1})
    [job] = await urgent.reserve("w", 10, wait_s=1)
    assert (job.id, job.kind) == (urgent_id, "fan_out")
    assert {job.kind for job in await slow.reserve("w", 100, wait_s=1)} == {"index"}
    assert await urgent.reserve("w", 10, wait_s=0) == []


async def test_backlog_counts_unacknowledged_jobs_and_their_age(job_queue: JobQueue) -> None:
    assert await job_queue.backlog() == Backlog(0, 0.0)
    first = await job_queue.enqueue("k", {"n": 1})
    await job_queue.enqueue("k", {"n": 2})
    await asyncio.sleep(0.2)
    [taken] = await job_queue.reserve("w", 1, wait_s=1)
    assert taken.id == first
    backlog = await job_queue.backlog()
    assert backlog.jobs == 2  # a reserved job is still owed
    assert 0.15 <= backlog.oldest_age_s < 30
    await job_queue.ack(taken)
    assert (await job_queue.backlog()).jobs == 1
    for job in await job_queue.reserve("w", 5, wait_s=1):
        await job_queue.ack(job)
    assert await job_queue.backlog() == Backlog(0, 0.0)


async def test_ack_many_acknowledges_each_job(job_queue: JobQueue) -> None:
    ids = [await job_queue.enqueue("k", {"n": n}) for n in range(600)]
    jobs = await job_queue.reserve("w", 600, wait_s=1)
    assert [job.id for job in jobs] == ids
    await job_queue.ack_many(jobs[:599])
    await job_queue.ack_many([])
    assert (await job_queue.backlog()).jobs == 1
    assert await job_queue.reclaim(0) == 1  # only the one left unacknowledged comes back
