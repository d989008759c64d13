"""The Redis home-timeline cache: pages come from the sorted set once it is built, it keeps
only the newest entries, and pages older than it read the store."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.instrumented import CountingProxy, count_calls
from storage.records import TimelineEntry, TimelineKind, utcnow
from storage.redis.client import shared_client
from storage.redis.timelines import RedisCachedTimelineStore
from storage.registry import Resources, open_port
from tests.backends import backend_url
from tests.storage.contract.conftest import SETTINGS, fresh_sqlite

HOME = TimelineKind.HOME


@pytest.fixture
async def cached(tmp_path: Path) -> AsyncIterator[RedisCachedTimelineStore]:
    redis_url = backend_url("CHIRP_CACHE_URL")  # skips before anything is opened
    resources = Resources(SETTINGS)
    try:
        inner = CountingProxy(
            "store", await open_port("timelines", await fresh_sqlite(tmp_path), resources)
        )
        client = await shared_client(redis_url, resources)
        yield RedisCachedTimelineStore(inner, client, max_entries=10)  # type: ignore[arg-type]
    finally:
        await resources.close()


async def test_pages_come_from_the_cache_once_built(cached: RedisCachedTimelineStore) -> None:
    owner = secrets.randbelow(2**62)
    start = utcnow()
    entries = [TimelineEntry(start + timedelta(seconds=n), 1000 + n, 7) for n in range(25)]
    for entry in entries:
        await cached.push(HOME, [owner], entry)
    newest_first = list(reversed(entries))
    assert await cached.page(HOME, owner, 5) == newest_first[:5]  # builds the set
    with count_calls() as calls:
        assert await cached.page(HOME, owner, 5) == newest_first[:5]
        assert (
            await cached.page(HOME, owner, 3, after=newest_first[4].position) == newest_first[5:8]
        )
        await cached.push(
            HOME, [owner], later := TimelineEntry(start + timedelta(hours=1), 5000, 8)
        )
        assert (await cached.page(HOME, owner, 1))[0] == later
    assert "store.page" not in calls, calls  # answered by the sorted set
    # Only the newest 10 are cached: an older page reads the store.
    with count_calls() as calls:
        older = await cached.page(HOME, owner, 5, after=newest_first[12].position)
    assert older == newest_first[13:18]
    assert calls["store.page"] == 1
    await cached.remove(HOME, [owner], [later])
    assert (await cached.page(HOME, owner, 1))[0] == newest_first[0]


async def test_ties_on_a_millisecond_keep_their_order_across_pages(
    cached: RedisCachedTimelineStore,
) -> None:
    owner = secrets.randbelow(2**62)
    moment = utcnow()
    # Nine tweets on one millisecond (more than the window's slack), then older ones.
    entries = [TimelineEntry(moment, 9000 - n, 7) for n in range(9)]
    entries += [TimelineEntry(moment - timedelta(seconds=n + 1), 100 - n, 7) for n in range(3)]
    for entry in entries:
        await cached.push(HOME, [owner], entry)
    expected = sorted(entries, reverse=True)[:10]  # the set keeps the newest 10
    await cached.page(HOME, owner, 1)  # builds the set
    seen, after = [], None
    with count_calls() as calls:
        while len(seen) < 10:
            page = await cached.page(HOME, owner, 2, after=after)
            assert page, seen
            seen += page
            after = page[-1].position
    assert seen == expected
    # Pages inside the ties read past them in the store, never out of order.
    assert calls["store.page"] <= 5, calls
