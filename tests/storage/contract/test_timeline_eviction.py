"""TimelineStore contract, the warm tier's part: `evict_older` drops old entries from a cache
in front of the store (Redis) and nothing from the store itself, so every page reads as it
did; a store with no cache drops nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from storage.ports import TimelineStore
from storage.records import TimelineEntry, TimelineKind, utcnow

DAY = timedelta(days=1)


async def test_evicting_old_entries_leaves_every_page_whole(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    owner, author = new_id(), new_id()
    # Far in the past: a shared Redis holds other runs' sets, newer than the cutoff.
    base = utcnow() - 400 * DAY
    entries = [TimelineEntry(base + i * DAY, new_id(), author) for i in range(6)]
    for entry in entries:
        await timeline_store.push(TimelineKind.HOME, [owner], entry)
    newest_first = sorted(entries, reverse=True)
    assert await timeline_store.page(TimelineKind.HOME, owner, 10) == newest_first  # cached

    dropped = await timeline_store.evict_older(TimelineKind.HOME, base + 3 * DAY)
    cached = type(timeline_store).__name__.startswith("Redis")
    assert dropped >= 3 if cached else dropped == 0
    assert await timeline_store.evict_older(TimelineKind.HOME, base + 3 * DAY) >= 0

    assert await timeline_store.page(TimelineKind.HOME, owner, 10) == newest_first
    assert await timeline_store.page(TimelineKind.HOME, owner, 2) == newest_first[:2]
    after = newest_first[1].position
    assert await timeline_store.page(TimelineKind.HOME, owner, 10, after) == newest_first[2:]
    assert await timeline_store.page(TimelineKind.AUTHOR, author, 10) == []


async def test_a_push_after_an_eviction_is_read_with_the_rest(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    owner, author = new_id(), new_id()
    base = utcnow() - 400 * DAY
    old, newer = (TimelineEntry(base + i * 10 * DAY, new_id(), author) for i in range(2))
    await timeline_store.push(TimelineKind.HOME, [owner], old)
    await timeline_store.page(TimelineKind.HOME, owner, 10)
    await timeline_store.evict_older(TimelineKind.HOME, base + DAY)
    await timeline_store.push(TimelineKind.HOME, [owner], newer)
    assert await timeline_store.page(TimelineKind.HOME, owner, 10) == [newer, old]
