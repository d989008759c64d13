"""TimelineStore contract: idempotent push, (created_at, tweet_id) DESC order, paging,
remove and trim, for each kind of timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from storage.ports import TimelineStore
from storage.records import (
    HOME_TIMELINE_LENGTH,
    HOME_TIMELINE_SLACK,
    TimelineEntry,
    TimelineKind,
    utcnow,
)

KINDS = [pytest.param(kind, id=kind.value) for kind in TimelineKind]


def _entries(new_id: Callable[[], int], author: int, count: int) -> list[TimelineEntry]:
    """Entries one second apart, oldest first, plus a tie on created_at at the end."""
    start = utcnow() - timedelta(hours=1)
    entries = [
        TimelineEntry(start + timedelta(seconds=i), new_id(), author) for i in range(count - 1)
    ]
    entries.append(TimelineEntry(entries[-1].created_at, new_id(), author))
    return entries


def _positions(entries: list[TimelineEntry]) -> list[tuple[object, int]]:
    """Where entries sit; an author timeline's entries are authored by its owner."""
    return [entry.position for entry in entries]


@pytest.mark.parametrize("kind", KINDS)
async def test_page_is_newest_first_with_ties_broken_by_tweet_id(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    entries = _entries(new_id, owner, 6)
    for entry in reversed(entries[::2]):
        await timeline_store.push(kind, [owner], entry)
    for entry in entries[1::2]:
        await timeline_store.push(kind, [owner], entry)
    newest_first = sorted(entries, reverse=True)
    assert await timeline_store.page(kind, owner, 100) == newest_first


@pytest.mark.parametrize("kind", KINDS)
async def test_push_is_idempotent_and_reaches_every_owner(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owners = [new_id() for _ in range(3)]
    entry = TimelineEntry(utcnow(), new_id(), owners[0])
    for _ in range(3):
        await timeline_store.push(kind, owners, entry)
    for owner in owners:
        page = await timeline_store.page(kind, owner, 10)
        assert [stored.position for stored in page] == [entry.position]
    await timeline_store.push(kind, [], entry)


@pytest.mark.parametrize("kind", [TimelineKind.HOME, TimelineKind.REPLIES, TimelineKind.MENTIONS])
async def test_entries_keep_their_author(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owner, author = new_id(), new_id()
    entry = TimelineEntry(utcnow(), new_id(), author)
    await timeline_store.push(kind, [owner], entry)
    assert await timeline_store.page(kind, owner, 10) == [entry]


@pytest.mark.parametrize("kind", KINDS)
async def test_paging_after_a_position_walks_the_whole_timeline_once(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    entries = _entries(new_id, owner, 11)
    for entry in entries:
        await timeline_store.push(kind, [owner], entry)
    seen: list[TimelineEntry] = []
    after = None
    while page := await timeline_store.page(kind, owner, 3, after=after):
        assert len(page) <= 3
        seen += page
        after = page[-1].position
    assert seen == sorted(entries, reverse=True)


@pytest.mark.parametrize("kind", KINDS)
async def test_page_after_is_strict(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    entries = _entries(new_id, owner, 4)
    for entry in entries:
        await timeline_store.push(kind, [owner], entry)
    newest_first = sorted(entries, reverse=True)
    after = newest_first[1].position
    assert await timeline_store.page(kind, owner, 10, after=after) == newest_first[2:]
    assert await timeline_store.page(kind, owner, 10, after=newest_first[-1].position) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_remove_takes_entries_out_of_each_owner(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owners = [new_id(), new_id()]
    entries = _entries(new_id, owners[0], 4)
    for entry in entries:
        await timeline_store.push(kind, owners, entry)
    await timeline_store.remove(kind, owners, entries[:2])
    await timeline_store.remove(kind, owners, entries[:2])  # removing again is harmless
    for owner in owners:
        page = await timeline_store.page(kind, owner, 10)
        assert _positions(page) == _positions(sorted(entries[2:], reverse=True))


@pytest.mark.parametrize("kind", KINDS)
async def test_trim_keeps_the_newest(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    owner, other = new_id(), new_id()
    entries = _entries(new_id, owner, 8)
    for entry in entries:
        await timeline_store.push(kind, [owner, other], entry)
    newest_first = sorted(entries, reverse=True)
    await timeline_store.trim(kind, owner, 5)
    assert await timeline_store.page(kind, owner, 100) == newest_first[:5]
    await timeline_store.trim(kind, owner, 50)
    assert await timeline_store.page(kind, owner, 100) == newest_first[:5]
    await timeline_store.trim(kind, owner, 0)
    assert await timeline_store.page(kind, owner, 100) == []
    assert _positions(await timeline_store.page(kind, other, 100)) == _positions(newest_first)


async def test_timelines_of_different_kinds_are_separate(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    entry = TimelineEntry(utcnow(), new_id(), owner)
    await timeline_store.push(TimelineKind.AUTHOR, [owner], entry)
    assert await timeline_store.page(TimelineKind.HOME, owner, 10) == []
    assert await timeline_store.page(TimelineKind.REPLIES, owner, 10) == []


async def test_a_home_timeline_stays_bounded_under_fan_out(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    """2,000 fan-outs reach one reader (beside another reader each time, as a fan-out batch
    does): the stored timeline never holds more than the bound plus its slack, and what it
    keeps is the newest entries."""
    reader = new_id()
    start = utcnow() - timedelta(hours=2)
    entries = [TimelineEntry(start + timedelta(seconds=i), new_id(), 7) for i in range(2_000)]
    for entry in entries:
        await timeline_store.push(TimelineKind.HOME, [reader, new_id()], entry)
    stored = await timeline_store.page(TimelineKind.HOME, reader, 10_000)
    assert HOME_TIMELINE_LENGTH <= len(stored) <= HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK
    assert stored == sorted(entries, reverse=True)[: len(stored)]


@pytest.mark.parametrize("kind", KINDS)
async def test_push_many_delivers_each_entry_to_its_own_owners(
    timeline_store: TimelineStore, kind: TimelineKind, new_id: Callable[[], int]
) -> None:
    """Many tweets' fan-out in one call: each owner gets exactly the entries addressed to it,
    an owner named twice or pushed twice holds each entry once."""
    shared, only_first, only_second = new_id(), new_id(), new_id()
    first, second = _entries(new_id, shared, 2)
    deliveries = [(first, [shared, only_first, shared]), (second, [shared, only_second])]
    await timeline_store.push_many(kind, deliveries)
    await timeline_store.push_many(kind, deliveries)
    await timeline_store.push_many(kind, [])
    assert [e.tweet_id for e in await timeline_store.page(kind, shared, 10)] == [
        second.tweet_id,
        first.tweet_id,
    ]
    assert [e.tweet_id for e in await timeline_store.page(kind, only_first, 10)] == [first.tweet_id]
    assert [e.tweet_id for e in await timeline_store.page(kind, only_second, 10)] == [
        second.tweet_id
    ]


async def test_a_home_timeline_stays_bounded_under_batched_fan_out(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    """Fan-out batches of 150 tweets to one reader: still bounded, still the newest."""
    reader = new_id()
    start = utcnow() - timedelta(hours=2)
    entries = [TimelineEntry(start + timedelta(seconds=i), new_id(), 7) for i in range(2_100)]
    for at in range(0, len(entries), 150):
        batch = entries[at : at + 150]
        await timeline_store.push_many(TimelineKind.HOME, [(e, [reader]) for e in batch])
    stored = await timeline_store.page(TimelineKind.HOME, reader, 10_000)
    assert HOME_TIMELINE_LENGTH <= len(stored) <= HOME_TIMELINE_LENGTH + HOME_TIMELINE_SLACK
    assert stored == sorted(entries, reverse=True)[: len(stored)]


async def test_pages_read_several_timelines_in_one_call_each_as_page_would(
    timeline_store: TimelineStore, new_id: Callable[[], int]
) -> None:
    reader, star = new_id(), new_id()
    home = _entries(new_id, new_id(), 4)
    authored = _entries(new_id, star, 3)
    for entry in home:
        await timeline_store.push(TimelineKind.HOME, [reader], entry)
    for entry in authored:
        await timeline_store.push(TimelineKind.AUTHOR, [star], entry)
    asked = [(TimelineKind.HOME, reader), (TimelineKind.AUTHOR, star), (TimelineKind.HOME, star)]
    after = sorted(home, reverse=True)[0].position
    for limit, position in ((10, None), (2, None), (10, after)):
        expected = [
            await timeline_store.page(kind, owner, limit, position) for kind, owner in asked
        ]
        assert await timeline_store.pages(asked, limit, position) == expected
    assert await timeline_store.pages(asked, 10, None) == [
        sorted(home, reverse=True),
        sorted(authored, reverse=True),
        [],
    ]
