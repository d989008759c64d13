"""Cache contract: batch get / set / delete with TTLs, counters whose TTL starts when they
are created, and count-once tallies (a mark counts once per TTL; a tally is taken whole,
each count by one taker)."""

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


async def test_count_once_counts_each_mark_once_per_ttl(cache: Cache, key: Key) -> None:
    tally = key("tally")
    marks = {key("seen:1:a"): "a", key("seen:1:b"): "b"}
    assert await cache.count_once(marks, 0.4, tally) == 2
    assert await cache.count_once({**marks, key("seen:2:a"): "a"}, 0.4, tally) == 1
    assert await cache.count_once({}, 0.4, tally) == 0
    await asyncio.sleep(0.5)
    assert await cache.count_once({key("seen:1:a"): "a"}, 60, tally) == 1  # the mark expired
    assert await cache.take_tally(tally) == {"a": 3, "b": 1}
    assert await cache.take_tally(tally) == {}


async def test_concurrent_count_once_of_one_mark_counts_it_once(cache: Cache, key: Key) -> None:
    tally = key("tally")
    found = await asyncio.gather(
        *(cache.count_once({key("seen:1:a"): "a"}, 60, tally) for _ in range(20))
    )
    assert sorted(found) == [0] * 19 + [1]
    assert await cache.take_tally(tally) == {"a": 1}


async def test_take_tally_hands_each_count_to_one_taker(cache: Cache, key: Key) -> None:
    tally = key("tally")

    async def count(n: int) -> None:
        await cache.count_once({key(f"seen:{n}"): str(n % 7)}, 60, tally)

    taken: list[dict[str, int]] = []

    async def take_while_counting() -> None:
        for _ in range(10):
            taken.append(await cache.take_tally(tally))
            await asyncio.sleep(0)

    await asyncio.gather(take_while_counting(), *(count(n) for n in range(200)))
    taken.append(await cache.take_tally(tally))
    assert sum(sum(t.values()) for t in taken) == 200


async def test_add_to_tally_puts_counts_back(cache: Cache, key: Key) -> None:
    tally = key("tally")
    await cache.count_once({key("seen:1:a"): "a"}, 60, tally)
    await cache.add_to_tally(tally, {"a": 4, "b": 2})
    await cache.add_to_tally(tally, {})
    assert await cache.take_tally(tally) == {"a": 5, "b": 2}
