"""Cache contract: batch get / set / delete with TTLs, and counters whose TTL starts when
they are created."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from storage.ports import Cache

Key = Callable[[str], str]


@pytest.fixture
def key(unique: Callable[[str], str]) -> Key:
    prefix = unique("contract")
    return lambda name: f"{prefix}:{name}"


async def test_get_many_keeps_order_with_none_for_misses(cache: Cache, key: Key) -> None:
    await cache.set_many({key("a"): b"alpha", key("b"): b"\x00beta"}, ttl_s=60)
    assert await cache.get_many([key("b"), key("missing"), key("a")]) == [
        b"\x00beta",
        None,
        b"alpha",
    ]
    assert await cache.get_many([]) == []
    assert isinstance(cache.shared, bool)


async def test_set_replaces_and_delete_removes(cache: Cache, key: Key) -> None:
    await cache.set_many({key("a"): b"one", key("b"): b"two"}, ttl_s=60)
    await cache.set_many({key("a"): b"uno"}, ttl_s=60)
    await cache.delete_many([key("b"), key("never-set")])
    assert await cache.get_many([key("a"), key("b")]) == [b"uno", None]


async def test_entries_expire(cache: Cache, key: Key) -> None:
    await cache.set_many({key("short"): b"x"}, ttl_s=0.1)
    await cache.set_many({key("long"): b"y"}, ttl_s=60)
    assert await cache.get_many([key("short")]) == [b"x"]
    await asyncio.sleep(0.25)
    assert await cache.get_many([key("short"), key("long")]) == [None, b"y"]


async def test_incr_counts_and_reads_back_as_digits(cache: Cache, key: Key) -> None:
    assert [await cache.incr(key("n"), 60) for _ in range(3)] == [1, 2, 3]
    assert await cache.get_many([key("n")]) == [b"3"]


async def test_concurrent_incr_loses_nothing(cache: Cache, key: Key) -> None:
    results = await asyncio.gather(*(cache.incr(key("n"), 60) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))


async def test_incr_ttl_starts_at_creation(cache: Cache, key: Key) -> None:
    assert await cache.incr(key("window"), 0.4) == 1
    await asyncio.sleep(0.25)
    assert await cache.incr(key("window"), 0.4) == 2  # does not push the expiry back
    await asyncio.sleep(0.3)
    assert await cache.incr(key("window"), 0.4) == 1
