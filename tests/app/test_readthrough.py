"""ReadThrough: concurrent misses of one id share a load, and a write during a load is never
hidden from the readers who come after it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.readthrough import ReadThrough
from storage.memory import InProcessCache, TTLCache


class SlowStore:
    """A store whose reads wait until released, counting what they were asked."""

    def __init__(self) -> None:
        self.values: dict[int, str] = {}
        self.asked: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def fetch_many(self, ids: Sequence[int]) -> list[str | None]:
        self.asked.append(list(ids))
        snapshot = [self.values.get(i) for i in ids]  # what the store held when asked
        await self.release.wait()
        if self.fail:
            raise RuntimeError("store down")
        return snapshot


def _cache(store: SlowStore) -> ReadThrough[str]:
    return ReadThrough(
        prefix="thing",
        fetch_many=store.fetch_many,
        encode=lambda value: {"v": value},
        decode=lambda blob: str(blob["v"]),
        l1=TTLCache(max_entries=100),
        l1_ttl_s=60.0,
        cache=InProcessCache(),
        cache_ttl_s=60.0,
    )


async def test_a_thousand_concurrent_misses_read_the_store_once() -> None:
    store = SlowStore()
    store.values = {1: "one", 2: "two"}
    cache = _cache(store)
    readers = [asyncio.create_task(cache.get_many([1, 2, 3])) for _ in range(1_000)]
    await asyncio.sleep(0)
    store.release.set()
    results = await asyncio.gather(*readers)
    assert all(result == ["one", "two", None] for result in results)
    assert store.asked == [[1, 2, 3]]


async def test_a_write_during_a_load_is_seen_by_later_readers() -> None:
    store = SlowStore()
    store.values = {1: "old"}
    cache = _cache(store)
    early = asyncio.create_task(cache.get_many([1]))
    await asyncio.sleep(0)
    store.values[1] = "new"
    await cache.invalidate([1])  # the writer's eviction, while the early load is in flight
    late = asyncio.create_task(cache.get_many([1]))
    await asyncio.sleep(0)
    store.release.set()
    assert await late == ["new"]  # did not join the load that began before the write
    assert await early in (["old"], ["new"])
    assert len(store.asked) == 2


async def test_a_failed_load_fails_its_joiners_and_the_next_read_tries_again() -> None:
    store = SlowStore()
    store.values = {1: "one"}
    store.fail = True
    cache = _cache(store)
    readers = [asyncio.create_task(cache.get_many([1])) for _ in range(3)]
    await asyncio.sleep(0)
    store.release.set()
    for reader in readers:
        with pytest.raises(RuntimeError, match="store down"):
            await reader
    store.fail = False
    assert await cache.get_many([1]) == ["one"]
    assert len(store.asked) == 2


async def test_a_cancelled_load_leaves_its_joiners_to_load_for_themselves() -> None:
    store = SlowStore()
    store.values = {1: "one"}
    cache = _cache(store)
    first = asyncio.create_task(cache.get_many([1]))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(cache.get_many([1]))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    store.release.set()
    assert await joiner == ["one"]
    with pytest.raises(asyncio.CancelledError):
        await first
