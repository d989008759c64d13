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
from storage.postgres import (
    PostgresLifecycleStore,
    PostgresModerationStore,
    PostgresSessionStore,
    PostgresUserStore,
    migrate,
)
from storage.postgres.shards import Shards, split_dsns
from storage.records import (
    DataExport,
    ExportStatus,
    LifecycleEntry,
    LifecycleKind,
    ModerationRecord,
    ReportReason,
    ReportRecord,
    TargetKind,
    UserRecord,
    utcnow,
)
from storage.sharding import shard_of_id
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


async def test_moving_a_logical_shard_under_load_loses_and_duplicates_no_user(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.postgres import moves
    from storage.postgres import shards as shards_module

    monkeypatch.setattr(shards_module, "MAP_REFRESH_S", 0.1)
    mover, serving = await Shards.open(url), await Shards.open(url)  # two processes' views
    store = PostgresUserStore(serving)
    try:
        logical = secrets.randbelow(100)
        source = serving.map.placement[logical]
        target = 1 - source
        on_shard = []
        while len(on_shard) < 5:  # users who live on the shard being moved
            user = _user(f"m{secrets.token_hex(5)}")
            if shard_of_id(user.id) == logical:
                await store.create(user)
                on_shard.append(user)
        sessions = PostgresSessionStore(serving)
        family = secrets.randbits(62) + 1  # a revoked session family on that shard too
        while shard_of_id(family) != logical:
            family = secrets.randbits(62) + 1
        await sessions.revoke_family(family, utcnow() + timedelta(hours=1))
        moderation = PostgresModerationStore(serving)  # reports, actions, roles of a user there
        owner = on_shard[0].id
        reported = ReportRecord(
            ids.next_id(),
            ids.next_id(),
            TargetKind.USER,
            owner,
            owner,
            ReportReason.SPAM,
            "",
            utcnow(),
        )
        action = ModerationRecord(
            ids.next_id(), ids.next_id(), "suspend", TargetKind.USER, owner, owner, "", utcnow()
        )
        assert await moderation.add_report(reported) is True
        await moderation.record(action)
        assert await moderation.grant(owner, "moderator", utcnow()) is True
        lifecycle = PostgresLifecycleStore(serving)  # a deletion waiting and an export
        deleted = LifecycleEntry(LifecycleKind.ACCOUNT, owner, owner, utcnow(), utcnow())
        export = DataExport(owner, ids.next_id(), ExportStatus.PENDING, utcnow())
        await lifecycle.schedule(deleted)
        assert await lifecycle.begin_export(export) is None
        signed_up: list[UserRecord] = []
        misses = 0
        moving = asyncio.create_task(moves.move_logical_shard(mover, logical, target, grace_s=0.5))
        while not moving.done():  # sign-ups and reads keep going during the move
            user = _user(f"n{secrets.token_hex(5)}")
            await store.create(user)
            signed_up.append(user)
            found = await store.get_many([u.id for u in on_shard])
            misses += found.count(None)
            await asyncio.sleep(0.01)
        report = await moving
        assert (report.source, report.target) == (source, target)
        assert misses == 0
        await asyncio.sleep(0.3)  # the serving process has the new map
        everyone = on_shard + signed_up
        assert await store.get_many([u.id for u in everyone]) == [
            (await store.get_many([u.id]))[0] for u in everyone
        ]
        assert None not in await store.get_many([u.id for u in everyone])
        counts: dict[int, int] = {}
        for dsn in split_dsns(url):
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch(
                    "SELECT user_id FROM users WHERE user_id = ANY($1)", [u.id for u in everyone]
                )
                rows += await conn.fetch(
                    "SELECT owner_id AS user_id FROM reports WHERE id = $1 UNION ALL "
                    "SELECT owner_id FROM moderation_actions WHERE id = $2 UNION ALL "
                    "SELECT user_id FROM user_roles WHERE user_id = $3 UNION ALL "
                    "SELECT owner_id FROM lifecycle_schedule WHERE owner_id = $3 UNION ALL "
                    "SELECT user_id FROM data_exports WHERE user_id = $3",
                    reported.id,
                    action.id,
                    owner,
                )
            finally:
                await conn.close()
            for row in rows:
                counts[row["user_id"]] = counts.get(row["user_id"], 0) + 1
        # Each user exactly once, on one database; the owner's report, action, role, waiting
        # deletion and export too.
        assert counts == {u.id: 6 if u.id == owner else 1 for u in everyone}
        assert all(serving.map.physical_for_id(u.id) == target for u in on_shard)
        assert await sessions.revoked_families([family]) == [True]  # moved with the shard
        assert await moderation.open_reports(TargetKind.USER, owner, owner, 10) == [reported]
        assert await moderation.actions_page(1, before=action.id + 1) == [action]
        assert await moderation.roles(owner) == {"moderator"}
        assert await lifecycle.get(LifecycleKind.ACCOUNT, owner, owner) == deleted
        assert await lifecycle.export_of(owner) == export
        await moderation.resolve(TargetKind.USER, owner, owner, "dismiss", utcnow())
        await moves.move_logical_shard(mover, logical, source, grace_s=0.5)  # put it back
    finally:
        await mover.close()
        await serving.close()
