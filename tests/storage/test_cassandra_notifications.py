"""CassandraNotificationStore beyond the contract: a change whose writer dies between its
conditional batch and its feed writes is finished by the next change of the base (a retried
job), a late feed write of a stale writer never brings back what a later change or a drop
removed, and every row carries the retention window as its TTL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest

from app.ids import SnowflakeGenerator
from app.settings import Settings
from storage.cassandra import migrate, open_notification_store
from storage.cassandra.notifications import CassandraNotificationStore
from storage.registry import Resources
from tests.backends import backend_url
from tests.storage.contract.test_notification_store import WINDOW, liked

RETENTION_S = 90 * 86_400


class Crash(Exception):
    """The worker died here."""


@pytest.fixture
async def store() -> AsyncIterator[CassandraNotificationStore]:
    url = backend_url("CHIRP_TWEETS_URL")
    await migrate(url)
    resources = Resources(Settings(secret_key="test-secret", public_base_url="http://media.test"))
    yield await open_notification_store(url, resources)
    await resources.close()


@pytest.fixture
def new_id() -> Callable[[], int]:
    return SnowflakeGenerator(random.randrange(1024)).next_id


def crash_after_batch(monkeypatch: pytest.MonkeyPatch, store: CassandraNotificationStore) -> None:
    """The next change that applies its conditional batch dies before its feed writes."""
    write = store._write

    async def write_then_die(*args: Any) -> Any:
        monkeypatch.setattr(store, "_write", write)
        if await write(*args) is not None:
            raise Crash
        return None

    monkeypatch.setattr(store, "_write", write_then_die)


def record_syncs(monkeypatch: pytest.MonkeyPatch, store: CassandraNotificationStore) -> list[Any]:
    """Every list of headers the store makes the feed match, as it was then."""
    calls: list[Any] = []
    sync = store._sync

    async def recorded(user: int, headers: Iterable[Any]) -> None:
        headers = list(headers)
        calls.append((user, headers))
        await sync(user, headers)

    monkeypatch.setattr(store, "_sync", recorded)
    return calls


async def test_a_retried_change_finishes_the_feed_writes_of_a_try_that_died(
    store: CassandraNotificationStore, monkeypatch: pytest.MonkeyPatch, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob = new_id(), new_id(), new_id(), new_id()
    crash_after_batch(monkeypatch, store)
    with pytest.raises(Crash):
        await store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    assert await store.page(owner, 10) == []  # the batch landed, the feed was never written
    # The job's retry: nothing to change (ada counts already), but the feed is finished.
    assert await store.apply(liked(owner, tweet, ada), WINDOW, new_id) == []
    [group] = await store.page(owner, 10)
    assert (group.count, group.actor_ids) == (1, (ada,))
    # The group moves to bob's later position and that try dies too: the feed still shows
    # it at ada's; the next change of the base moves it (and deletes the old row).
    crash_after_batch(monkeypatch, store)
    with pytest.raises(Crash):
        await store.apply(liked(owner, tweet, bob, at_offset_s=1), WINDOW, new_id)
    [stale] = await store.page(owner, 10)
    assert (stale.id, stale.count) == (group.id, 1)
    assert await store.apply(liked(owner, tweet, bob, at_offset_s=1), WINDOW, new_id) == []
    [moved] = await store.page(owner, 10)
    assert (moved.id, moved.count, moved.actor_ids) == (group.id, 2, (bob, ada))
    assert moved.latest_at > group.latest_at
    assert await store.unread_count(owner, 10) == 1


async def test_a_late_feed_write_of_a_stale_writer_changes_nothing(
    store: CassandraNotificationStore, monkeypatch: pytest.MonkeyPatch, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob = new_id(), new_id(), new_id(), new_id()
    syncs = record_syncs(monkeypatch, store)
    await store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    first = [call for call in syncs if call[1]]
    await store.apply(liked(owner, tweet, bob, at_offset_s=1), WINDOW, new_id)
    second = [call for call in syncs if call[1]][len(first) :]
    for user, headers in first:  # the first writer's feed writes, replayed late
        await store._sync(user, headers)
    [group] = await store.page(owner, 10)
    assert (group.count, group.actor_ids) == (2, (bob, ada))
    # Nor after the base is dropped: its deletes are later than any of its writes.
    assert await store.drop(owner, f"like:{tweet}") != []
    for user, headers in [*first, *second]:
        await store._sync(user, headers)
    assert await store.page(owner, 10) == []
    assert await store.unread_count(owner, 10) == 0


async def test_a_drop_finishes_after_a_writer_died_before_its_feed_writes(
    store: CassandraNotificationStore, monkeypatch: pytest.MonkeyPatch, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada = new_id(), new_id(), new_id()
    crash_after_batch(monkeypatch, store)
    with pytest.raises(Crash):
        await store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    [dropped] = await store.drop(owner, f"like:{tweet}")
    assert (dropped.count, dropped.sample) == (0, ())
    assert await store.apply(liked(owner, tweet, new_id()), WINDOW, new_id) != []
    [group] = await store.page(owner, 10)
    assert group.id != dropped.id and group.count == 1


async def test_every_row_has_the_retention_as_its_ttl(
    store: CassandraNotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada = new_id(), new_id(), new_id()
    [group] = await store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    await store.mark_read(owner, group.position)
    db, key = store._db, f"like:{tweet}"
    subjects = await db.run(
        "SELECT row_type, TTL(version) AS s, TTL(count) AS h, TTL(group_id) AS c "
        "FROM {ks}.notification_subjects WHERE user_id = ? AND base_key = ?",
        (owner, key),
    )
    feed = await db.run(
        "SELECT TTL(base_key) AS t FROM {ks}.notification_feed "
        "WHERE user_id = ? AND lane IN ? AND bucket IN ?",
        (owner, ["all", "like"], list(_weeks(group.latest_at))),
    )
    ttls = [row["s"] for row in subjects] + [row["h"] or row["c"] for row in subjects]
    ttls += [row["t"] for row in feed]
    assert len(subjects) == 2 and len(feed) == 2
    assert all(RETENTION_S - 60 < ttl <= RETENTION_S for ttl in ttls)


async def test_rows_go_when_the_retention_ends(
    store: CassandraNotificationStore, new_id: Callable[[], int]
) -> None:
    brief = CassandraNotificationStore(store._db, timedelta(seconds=2))
    owner, tweet = new_id(), new_id()
    [group] = await brief.apply(liked(owner, tweet, new_id()), WINDOW, new_id)
    await brief.mark_read(owner, group.position)
    assert await store.read_marker(owner) == group.position
    assert len(await store.page(owner, 10)) == 1
    await asyncio.sleep(3)
    assert await store.read_marker(owner) is None
    assert await store.page(owner, 10) == []
    rows = await store._db.run(
        "SELECT row_id FROM {ks}.notification_subjects WHERE user_id = ? AND base_key = ?",
        (owner, f"like:{tweet}"),
    )
    assert rows == []


def _weeks(at: Any) -> range:
    week = int(at.timestamp() * 1000) // (7 * 86_400_000)
    return range(week - 1, week + 2)
