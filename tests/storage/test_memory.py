"""The in-process adapters' own rules, on an injected clock: TTLCache's expiry and LRU
bound, the bus's drop-oldest and close, the queue's reclaim by idle time."""

from __future__ import annotations

import asyncio

from storage.memory import InProcessCache, InProcessEventBus, InProcessJobQueue, TTLCache
from storage.records import Event


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ttl_cache_entries_expire_on_their_own_ttl() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(10, clock)
    cache.set("short", 1, ttl_s=1)
    cache.set("long", 2, ttl_s=60)
    clock.now += 0.999
    assert cache.get("short") == 1
    clock.now += 0.001
    assert cache.get("short") is None
    assert "short" not in cache
    assert cache.get("long") == 2
    assert cache.get("missing", -1) == -1


def test_ttl_cache_evicts_the_least_recently_used() -> None:
    cache: TTLCache[str, int] = TTLCache(3, Clock())
    for name in "abc":
        cache.set(name, ord(name), ttl_s=60)
    assert cache.get("a") == ord("a")  # a is now the most recent
    cache.set("d", 4, ttl_s=60)
    assert len(cache) == 3
    assert cache.get("b") is None
    assert [cache.get(name) is not None for name in "acd"] == [True, True, True]


def test_ttl_cache_delete_and_clear() -> None:
    cache: TTLCache[str, int] = TTLCache(3, Clock())
    cache.set("a", 1, ttl_s=60)
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    cache.set("b", 2, ttl_s=60)
    cache.clear()
    assert len(cache) == 0


async def test_cache_counter_window_follows_the_clock() -> None:
    clock = Clock()
    cache = InProcessCache(100, clock)
    assert await cache.incr("rate:1", 60) == 1
    clock.now += 59
    assert await cache.incr("rate:1", 60) == 2
    clock.now += 1
    assert await cache.incr("rate:1", 60) == 1
    assert cache.shared is False


async def test_bus_drops_the_oldest_events_of_a_full_subscriber() -> None:
    bus = InProcessEventBus(subscriber_queue=3)
    async with bus.subscribe(["c"]) as events:
        for number in range(5):
            await bus.publish("c", b"%d" % number)
        received = [await anext(events) for _ in range(3)]
    assert received == [Event("c", b"2"), Event("c", b"3"), Event("c", b"4")]


async def test_closing_the_bus_ends_subscriptions() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe(["c"]) as events:
        await bus.publish("c", b"before close")
        await bus.close()
        received = [event async for event in events]
        assert received == [Event("c", b"before close")]
        assert [event async for event in events] == []


async def test_leaving_a_subscription_stops_delivery() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe(["c"]):
        pass
    await bus.publish("c", b"nobody listens")  # must not fail or pile up


async def test_queue_reclaims_by_idle_time_on_its_clock() -> None:
    clock = Clock()
    queue = InProcessJobQueue(max_attempts=2, clock=clock)
    await queue.enqueue("k", {"n": 1})
    [job] = await queue.reserve("dies", 1, wait_s=0)
    clock.now += 29
    assert await queue.reclaim(idle_s=30) == 0
    clock.now += 1
    assert await queue.reclaim(idle_s=30) == 1
    [again] = await queue.reserve("other", 1, wait_s=0)
    assert (again.id, again.attempts) == (job.id, 1)
    clock.now += 30
    assert await queue.reclaim(idle_s=30) == 1  # second lost attempt: dead
    assert [dead.id for dead in await queue.dead_letters(10)] == [job.id]


async def test_queue_payloads_are_copies() -> None:
    queue = InProcessJobQueue()
    payload = {"owners": [1, 2]}
    await queue.enqueue("k", payload)
    payload["owners"].append(3)
    [job] = await asyncio.wait_for(queue.reserve("w", 1, wait_s=1), 2)
    assert job.payload == {"owners": [1, 2]}
