"""LifecycleStore contract: schedule entries are kept once per (kind, owner, subject),
replaced by a new schedule and removed once; an owner's entries come newest deletion first,
paged strictly after a position; `due` lists every owner's entries due by a moment,
soonest first, whichever shard they live on. One PENDING export per user at a time (also
under concurrent requests); a finished export is saved only while it is the latest; READY
exports are listed once expired.

`due` and `exports_expiring` read every owner, and the servers are shared (with other test
runs and with lifecycle passes of the app's tests), so these tests use owners of their own,
far in the future (year 2400: no pass ever travels that far), and check only their own
entries within the global answer, and the order and bounds of the whole answer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from storage.ports import LifecycleStore
from storage.records import (
    DataExport,
    ExportStatus,
    LifecycleEntry,
    LifecycleKind,
    utcnow,
)
from storage.sharding import shard_of_id

MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)
TWEET, ACCOUNT = LifecycleKind.TWEET, LifecycleKind.ACCOUNT
EVERYTHING = 100_000  # a limit past every entry a shared server holds


@pytest.fixture
def future() -> datetime:
    """A moment of this test's own, centuries ahead (to the millisecond, as stores keep)."""
    return datetime(2400, 1, 1, tzinfo=UTC) + timedelta(
        seconds=random.randrange(10**9), milliseconds=random.randrange(1000)
    )


def _owners(new_id: Callable[[], int], count: int) -> list[int]:
    """Owner ids on logical shards of alternating parity: on both PostgreSQL databases."""
    owners: list[int] = []
    while len(owners) < count:
        owner = new_id()
        if shard_of_id(owner) % 2 == len(owners) % 2:
            owners.append(owner)
    return owners


def _entry(
    kind: LifecycleKind, owner: int, subject: int, since: datetime, due_at: datetime
) -> LifecycleEntry:
    return LifecycleEntry(kind=kind, subject_id=subject, owner_id=owner, since=since, due_at=due_at)


def _due_order(entry: LifecycleEntry) -> tuple[datetime, int, int]:
    return (entry.due_at, entry.owner_id, entry.subject_id)


async def test_an_entry_is_kept_once_replaced_and_cancelled_once(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int], future: datetime
) -> None:
    owner, subject = new_id(), new_id()
    now = future
    entry = _entry(TWEET, owner, subject, now, now + 30 * DAY)
    assert await lifecycle_store.get(TWEET, owner, subject) is None
    await lifecycle_store.schedule(entry)
    await lifecycle_store.schedule(entry)
    assert await lifecycle_store.get(TWEET, owner, subject) == entry
    assert await lifecycle_store.get(ACCOUNT, owner, subject) is None  # kinds are apart
    again = _entry(TWEET, owner, subject, now + DAY, now + 31 * DAY)
    await lifecycle_store.schedule(again)
    assert await lifecycle_store.get(TWEET, owner, subject) == again
    assert await lifecycle_store.owned(TWEET, owner, 10) == [again]
    account = _entry(ACCOUNT, owner, subject, now, now + 90 * DAY)
    await lifecycle_store.schedule(account)
    assert await lifecycle_store.cancel(TWEET, owner, subject) is True
    assert await lifecycle_store.cancel(TWEET, owner, subject) is False
    assert await lifecycle_store.get(TWEET, owner, subject) is None
    assert await lifecycle_store.get(ACCOUNT, owner, subject) == account
    assert await lifecycle_store.cancel(ACCOUNT, owner, subject) is True


async def test_owned_is_newest_deletion_first_and_pages_strictly_after(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int], future: datetime
) -> None:
    owner, other = new_id(), new_id()
    base = future
    entries = [
        _entry(TWEET, owner, new_id(), base + offset * MS, base + 30 * DAY)
        for offset in (5, 0, 5, 9, 1, 5)  # three deleted at the same moment
    ]
    others = [
        _entry(TWEET, other, new_id(), base, base),
        _entry(ACCOUNT, owner, owner, base + 7 * MS, base),
    ]
    for entry in [*entries, *others]:
        await lifecycle_store.schedule(entry)
    expected = sorted(entries, key=lambda e: e.position, reverse=True)
    assert await lifecycle_store.owned(TWEET, owner, 100) == expected
    paged: list[LifecycleEntry] = []
    after = None
    while page := await lifecycle_store.owned(TWEET, owner, 2, after):
        assert len(page) <= 2
        paged += page
        after = page[-1].position
    assert paged == expected
    assert await lifecycle_store.owned(TWEET, owner, 0) == []
    assert await lifecycle_store.owned(TWEET, owner, 10, expected[-1].position) == []
    for entry in [*entries, *others]:
        await lifecycle_store.cancel(entry.kind, entry.owner_id, entry.subject_id)


async def test_due_lists_every_owners_entries_due_by_now_soonest_first(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int], future: datetime
) -> None:
    owners = _owners(new_id, 4)
    now = future
    due = [
        _entry(TWEET, owners[0], new_id(), now - 40 * DAY, now - 10 * DAY),
        _entry(TWEET, owners[1], new_id(), now - 30 * DAY, now - MS),
        _entry(TWEET, owners[2], new_id(), now - 30 * DAY, now),  # due at exactly now
        _entry(TWEET, owners[3], new_id(), now - 30 * DAY, now - 10 * DAY),  # same moment
    ]
    not_yet = [
        _entry(TWEET, owners[0], new_id(), now - 29 * DAY, now + MS),
        _entry(TWEET, owners[1], new_id(), now - DAY, now + 29 * DAY),
    ]
    other_kind = _entry(ACCOUNT, owners[2], owners[2], now - 91 * DAY, now - DAY)
    ours = {*owners}
    try:
        for entry in [*due, *not_yet, other_kind]:
            await lifecycle_store.schedule(entry)
        found = await lifecycle_store.due(TWEET, now, EVERYTHING)
        assert found == sorted(found, key=_due_order)
        assert all(e.kind == TWEET and e.due_at <= now for e in found)
        assert [e for e in found if e.owner_id in ours] == sorted(due, key=_due_order)
        first = await lifecycle_store.due(TWEET, now, 2)
        assert len(first) == 2 and first == sorted(first, key=_due_order)
        assert await lifecycle_store.due(TWEET, now, 0) == []
        accounts = await lifecycle_store.due(ACCOUNT, now, EVERYTHING)
        assert [e for e in accounts if e.owner_id in ours] == [other_kind]
        # Once an entry is done (cancelled), it is no longer due.
        await lifecycle_store.cancel(TWEET, due[0].owner_id, due[0].subject_id)
        again = await lifecycle_store.due(TWEET, now, EVERYTHING)
        assert [e for e in again if e.owner_id in ours] == sorted(due[1:], key=_due_order)
    finally:
        for entry in [*due, *not_yet, other_kind]:
            await lifecycle_store.cancel(entry.kind, entry.owner_id, entry.subject_id)


def _export(user_id: int, export_id: int, at: datetime) -> DataExport:
    return DataExport(user_id, export_id, ExportStatus.PENDING, requested_at=at)


async def test_one_pending_export_per_user_and_only_the_latest_is_saved(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int]
) -> None:
    user, someone = new_id(), new_id()
    now = utcnow()
    assert await lifecycle_store.export_of(user) is None
    first = _export(user, new_id(), now)
    assert await lifecycle_store.begin_export(first) is None
    assert await lifecycle_store.export_of(user) == first
    assert await lifecycle_store.begin_export(_export(user, new_id(), now + MS)) == first
    assert await lifecycle_store.export_of(user) == first  # the refused one changed nothing
    assert await lifecycle_store.begin_export(_export(someone, new_id(), now)) is None

    ready = replace(
        first,
        status=ExportStatus.READY,
        key=f"exports/{user}/{first.id}.zip",
        finished_at=now + DAY,
        expires_at=now + 8 * DAY,
    )
    await lifecycle_store.save_export(ready)
    assert await lifecycle_store.export_of(user) == ready
    second = _export(user, new_id(), now + 2 * DAY)
    assert await lifecycle_store.begin_export(second) is None  # a READY one is replaced
    assert await lifecycle_store.export_of(user) == second
    await lifecycle_store.save_export(replace(ready, status=ExportStatus.EXPIRED, key=None))
    assert await lifecycle_store.export_of(user) == second  # not the latest: left alone
    failed = replace(second, status=ExportStatus.FAILED, finished_at=now + 3 * DAY)
    await lifecycle_store.save_export(failed)
    assert await lifecycle_store.export_of(user) == failed
    third = _export(user, new_id(), now + 4 * DAY)
    assert await lifecycle_store.begin_export(third) is None  # a FAILED one too
    assert await lifecycle_store.export_of(user) == third


async def test_of_concurrent_requests_one_begins(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int]
) -> None:
    user, now = new_id(), utcnow()
    requests = [_export(user, new_id(), now + i * MS) for i in range(8)]
    answers = await asyncio.gather(*(lifecycle_store.begin_export(r) for r in requests))
    winners = [r for r, answer in zip(requests, answers, strict=True) if answer is None]
    assert len(winners) == 1
    assert all(answer in (None, winners[0]) for answer in answers)
    assert await lifecycle_store.export_of(user) == winners[0]


async def test_ready_exports_are_listed_once_expired(
    lifecycle_store: LifecycleStore, new_id: Callable[[], int], future: datetime
) -> None:
    now = future
    users = _owners(new_id, 7)

    async def saved(user: int, status: ExportStatus, expires_at: datetime) -> DataExport:
        export = _export(user, new_id(), now - 8 * DAY)
        assert await lifecycle_store.begin_export(export) is None
        done = replace(
            export,
            status=status,
            key=f"exports/{user}/{export.id}.zip",
            finished_at=now - 7 * DAY,
            expires_at=expires_at,
        )
        if status != ExportStatus.PENDING:
            await lifecycle_store.save_export(done)
        return done

    expired = [
        await saved(users[0], ExportStatus.READY, now - DAY),
        await saved(users[1], ExportStatus.READY, now),  # expires exactly now
        await saved(users[2], ExportStatus.READY, now - DAY),  # same moment, next user
    ]
    await saved(users[3], ExportStatus.READY, now + MS)
    await saved(users[4], ExportStatus.FAILED, now - DAY)
    await saved(users[5], ExportStatus.EXPIRED, now - DAY)
    await saved(users[6], ExportStatus.PENDING, now - DAY)
    order = lambda e: (e.expires_at, e.user_id)  # noqa: E731
    found = await lifecycle_store.exports_expiring(now, EVERYTHING)
    assert found == sorted(found, key=order)
    assert all(e.status == ExportStatus.READY and e.expires_at <= now for e in found)  # type: ignore[operator]
    assert [e for e in found if e.user_id in users] == sorted(expired, key=order)
    assert len(await lifecycle_store.exports_expiring(now, 2)) == 2
    assert await lifecycle_store.exports_expiring(now, 0) == []
    for export in expired:  # as the expire_exports step leaves them
        await lifecycle_store.save_export(replace(export, status=ExportStatus.EXPIRED, key=None))
    again = await lifecycle_store.exports_expiring(now, EVERYTHING)
    assert [e for e in again if e.user_id in users] == []
