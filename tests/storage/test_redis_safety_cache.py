"""The Redis `relations:{id}` cache never answers without a block that stands, nor with a
mute that has expired."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from storage.instrumented import CountingProxy, count_calls
from storage.ports import SafetyStore
from storage.records import Relations, utcnow
from storage.redis.client import shared_client
from storage.redis.safety import TTL_S, RedisCachedSafetyStore
from storage.registry import Resources, open_port
from tests.backends import backend_url
from tests.storage.contract.conftest import SETTINGS, fresh_sqlite

HOUR = timedelta(hours=1)


class Switchable:
    """A Redis client that can be made to fail like a server that went away."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.down = False

    def __getattr__(self, name: str) -> Any:
        if self.down:
            raise RedisConnectionError("Redis is down (test)")
        return getattr(self.client, name)


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[SafetyStore, Switchable]]:
    """The SQLite store (its calls counted as "store.*") and a client of the test Redis."""
    redis_url = backend_url("CHIRP_CACHE_URL")  # skips before anything is opened
    resources = Resources(SETTINGS)
    try:
        store = await open_port("safety", await fresh_sqlite(tmp_path), resources)
        client = await shared_client(redis_url, resources)
        yield CountingProxy("store", store), Switchable(client)
    finally:
        await resources.close()


@pytest.fixture
def cached(parts: tuple[SafetyStore, Switchable]) -> RedisCachedSafetyStore:
    store, client = parts
    return RedisCachedSafetyStore(store, client)  # type: ignore[arg-type]


def _ids(count: int) -> list[int]:
    return [secrets.randbelow(2**62) for _ in range(count)]


async def test_relations_are_read_from_redis_once_built(cached: RedisCachedSafetyStore) -> None:
    alice, bob, carol = _ids(3)
    at = utcnow()
    await cached.block(alice, bob, at)
    await cached.block(carol, alice, at)
    await cached.mute(alice, carol, at, None)
    await cached.add_muted_word(alice, "spoilers", at, at + HOUR)
    expected = await cached.relations(alice, utcnow())  # builds
    assert expected.blocking == {bob} and expected.blocked_by == {carol}
    assert expected.muting == {carol} and [w.word for w in expected.muted_words] == ["spoilers"]
    with count_calls() as calls:
        assert await cached.relations(alice, utcnow()) == expected
    assert not calls, calls  # answered by Redis alone


async def test_a_block_changes_both_users_relations_a_mute_only_the_muters(
    cached: RedisCachedSafetyStore,
) -> None:
    alice, bob = _ids(2)
    assert await cached.relations(alice, utcnow()) == Relations()
    assert await cached.relations(bob, utcnow()) == Relations()
    await cached.block(alice, bob, utcnow())
    assert await cached.relations(alice, utcnow()) == Relations(blocking=frozenset({bob}))
    assert await cached.relations(bob, utcnow()) == Relations(blocked_by=frozenset({alice}))
    await cached.unblock(alice, bob)
    assert await cached.relations(alice, utcnow()) == Relations()
    assert await cached.relations(bob, utcnow()) == Relations()
    await cached.mute(alice, bob, utcnow(), None)
    with count_calls() as calls:
        assert await cached.relations(bob, utcnow()) == Relations()
    assert not calls, calls  # bob's relations were left in Redis
    assert await cached.relations(alice, utcnow()) == Relations(muting=frozenset({bob}))
    await cached.unmute(alice, bob)
    await cached.add_muted_word(alice, "word", utcnow(), None)
    assert [w.word for w in (await cached.relations(alice, utcnow())).muted_words] == ["word"]
    await cached.remove_muted_word(alice, "word")
    assert await cached.relations(alice, utcnow()) == Relations()


async def test_a_rebuild_racing_a_block_cannot_leave_a_stale_value(
    parts: tuple[SafetyStore, Switchable],
) -> None:
    """The store is read before the block and answered after it: the rebuilt value must
    not be written, or it would hide the block for an hour."""
    store, client = parts
    alice, bob = _ids(2)

    class BlockDuringRead:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def relations(self, user_id: int, now: datetime) -> Relations:
            found = await store.relations(user_id, now)
            if user_id == bob:
                await racing.block(alice, bob, utcnow())  # lands while the rebuild runs
            return found

    racing = RedisCachedSafetyStore(BlockDuringRead(), client)  # type: ignore[arg-type]
    assert await racing.relations(bob, utcnow()) == Relations()  # read before the block
    assert await client.exists(f"relations:{bob}") == 0  # ... and not cached
    assert await racing.relations(bob, utcnow()) == Relations(blocked_by=frozenset({alice}))


async def test_redis_down_reads_the_store_and_missed_invalidations_are_sent_first(
    parts: tuple[SafetyStore, Switchable],
) -> None:
    store, client = parts
    cached = RedisCachedSafetyStore(store, client)  # type: ignore[arg-type]
    alice, bob = _ids(2)
    assert await cached.relations(alice, utcnow()) == Relations()  # cached
    client.down = True
    assert await cached.block(alice, bob, utcnow()) is True  # written, not invalidated
    with count_calls() as calls:
        assert await cached.relations(alice, utcnow()) == Relations(blocking=frozenset({bob}))
    assert calls["store.relations"] == 1
    client.down = False
    # The stale value is still in Redis: the invalidation it missed goes before any read.
    assert await client.exists(f"relations:{alice}") == 1
    assert await cached.relations(alice, utcnow()) == Relations(blocking=frozenset({bob}))


async def test_an_unreachable_redis_reads_the_store(tmp_path: Path) -> None:
    resources = Resources(SETTINGS)
    try:
        store = await open_port("safety", await fresh_sqlite(tmp_path), resources)
        nobody = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
        resources.on_close(nobody.aclose)
        cached = RedisCachedSafetyStore(store, nobody)
        alice, bob = _ids(2)
        assert await cached.block(alice, bob, utcnow()) is True
        assert await cached.relations(bob, utcnow()) == Relations(blocked_by=frozenset({alice}))
    finally:
        await resources.close()


async def test_an_expired_mute_is_not_served_from_the_cache(
    cached: RedisCachedSafetyStore, parts: tuple[SafetyStore, Switchable]
) -> None:
    _, client = parts
    alice, bob, carol = _ids(3)
    at = utcnow()
    await cached.mute(alice, bob, at, at + timedelta(seconds=100))
    await cached.mute(alice, carol, at, None)
    await cached.add_muted_word(alice, "soon", at, at + timedelta(seconds=50))
    # Built for a moment past both expiries, the value still holds them for now.
    later = at + HOUR
    assert await cached.relations(alice, later) == Relations(muting=frozenset({carol}))
    relations = await cached.relations(alice, utcnow())
    assert relations.muting == {bob, carol} and [w.word for w in relations.muted_words] == ["soon"]
    # The value lives no longer than its first expiry ...
    assert 0 < await client.ttl(f"relations:{alice}") <= 50
    # ... and a read past an expiry leaves that mute out, still from Redis.
    with count_calls() as calls:
        assert await cached.relations(alice, at + timedelta(seconds=60)) == Relations(
            muting=frozenset({bob, carol})
        )
        assert await cached.relations(alice, later) == Relations(muting=frozenset({carol}))
    assert not calls, calls
    await cached.unmute(alice, bob)
    await cached.remove_muted_word(alice, "soon")
    await cached.relations(alice, utcnow())
    assert TTL_S - 5 < await client.ttl(f"relations:{alice}") <= TTL_S  # nothing expires
