"""PostgreSQL user shards: global uniqueness under races, placement by the shard map, the
repair of a claim whose user was never written, and a bounded failure when it is down."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest

from app.ids import SnowflakeGenerator
from storage.errors import Conflict, Unavailable
from storage.postgres import PostgresUserStore, migrate
from storage.postgres.shards import Shards, split_dsns
from storage.records import UserRecord, utcnow
from tests.backends import backend_url

ids = SnowflakeGenerator(worker_id=secrets.randbelow(1024))


@pytest.fixture
async def url() -> str:
    found = backend_url("CHIRP_USERS_URL")
    await migrate(found)
    return found


@pytest.fixture
async def shards(url: str) -> AsyncIterator[Shards]:
    opened = await Shards.open(url)
    yield opened
    await opened.close()


def _user(name: str, email: str | None = None) -> UserRecord:
    now = utcnow()
    return UserRecord(
        id=ids.next_id(),
        username=name,
        email=email or f"{name.lower()}-{secrets.token_hex(3)}@example.com",
        password_hash="hash",
        display_name=name,
        created_at=now,
        updated_at=now,
    )


def _cased(name: str, i: int) -> str:
    return "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate(name))


async def test_fifty_concurrent_sign_ups_for_one_name_make_one_account(shards: Shards) -> None:
    store = PostgresUserStore(shards)
    name = f"u{secrets.token_hex(4)}"

    async def attempt(i: int) -> bool:
        try:
            await store.create(_user(_cased(name, i)))
        except Conflict as error:
            assert error.field == "username"
            return False
        return True

    started = time.perf_counter()
    results = await asyncio.gather(*(attempt(i) for i in range(50)))
    print(f"50 racing sign-ups for one username: {time.perf_counter() - started:.2f} s")
    assert results.count(True) == 1
    email = f"race-{secrets.token_hex(4)}@example.com"

    async def attempt_email(i: int) -> bool:
        try:
            await store.create(_user(f"e{secrets.token_hex(5)}", _cased(email, i)))
        except Conflict as error:
            assert error.field == "email"
            return False
        return True

    assert (await asyncio.gather(*(attempt_email(i) for i in range(50)))).count(True) == 1
    assert (await store.find_by_username(name.upper())) is not None


async def test_rows_land_on_the_physical_shard_the_map_says(shards: Shards, url: str) -> None:
    store = PostgresUserStore(shards)
    users = [_user(f"p{secrets.token_hex(5)}") for _ in range(40)]
    for user in users:
        await store.create(user)
        await store.add_to_stats(user.id, {"tweets_count": 2})
    placement = {user.id: shards.map.physical_for_id(user.id) for user in users}
    assert set(placement.values()) == {0, 1}  # spread over both databases
    for physical, dsn in enumerate(split_dsns(url)):
        conn = await asyncpg.connect(dsn)
        try:
            mine = [uid for uid, p in placement.items() if p == physical]
            others = [uid for uid, p in placement.items() if p != physical]
            for table in ("users", "user_stats", "user_settings"):
                found = await conn.fetch(
                    f"SELECT user_id FROM {table} WHERE user_id = ANY($1)", list(placement)
                )
                assert sorted(r["user_id"] for r in found) == sorted(mine), table
                assert not set(r["user_id"] for r in found) & set(others)
        finally:
            await conn.close()
    stats = await store.get_stats_many([u.id for u in users])
    assert all(s is not None and s.tweets_count == 2 for s in stats)


async def test_a_claim_whose_user_was_never_written_is_repaired(shards: Shards) -> None:
    store = PostgresUserStore(shards)
    crashed = _user(f"c{secrets.token_hex(5)}")
    key = crashed.username.casefold()
    # A writer that died between its claim and its user row, long enough ago.
    await shards.for_key(key).execute(
        "INSERT INTO claims (kind, claim, user_id, claimed_at) VALUES ('username', $1, $2, $3)",
        key,
        crashed.id,
        utcnow() - timedelta(minutes=5),
    )
    assert await store.find_by_username(crashed.username) is None
    retry = replace(_user(crashed.username.upper()), id=ids.next_id())
    await store.create(retry)
    assert (await store.find_by_username(crashed.username)) == (await store.get_many([retry.id]))[0]
    # A fresh claim is not taken over: its writer may still be about to write.
    fresh = _user(f"f{secrets.token_hex(5)}")
    await shards.for_key(fresh.username.casefold()).execute(
        "INSERT INTO claims (kind, claim, user_id) VALUES ('username', $1, $2)",
        fresh.username.casefold(),
        fresh.id,
    )
    with pytest.raises(Conflict):
        await store.create(_user(fresh.username))


async def test_an_unreachable_postgresql_is_unavailable_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await Shards.open("postgresql://chirp@127.0.0.1:1/nowhere")
    assert time.monotonic() - started < 15
