"""SessionStore contract: a refresh token is used once and a replay is told apart; a family
is revoked as a whole and remembered; revoking a user removes them all."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from storage.ports import SessionStore
from storage.records import SessionRecord, utcnow


def _session(
    user_id: int, family_id: int | None = None, expires_in: timedelta = timedelta(days=30)
) -> SessionRecord:
    now = utcnow()
    return SessionRecord(
        token_hash=secrets.token_hex(32),
        user_id=user_id,
        expires_at=now + expires_in,
        created_at=now,
        family_id=family_id if family_id is not None else secrets.randbits(62) + 1,
    )


async def test_take_uses_the_token_once_and_then_tells_a_replay(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    session = _session(new_id())
    await session_store.create(session)
    assert await session_store.take(session.token_hash) == session
    replayed = await session_store.take(session.token_hash)
    assert replayed is not None and replayed.used_at is not None
    assert replace(replayed, used_at=None) == session
    again = await session_store.take(session.token_hash)
    assert again is not None and again.used_at is not None


async def test_take_of_an_unknown_token_is_none(session_store: SessionStore) -> None:
    assert await session_store.take(secrets.token_hex(32)) is None


async def test_two_concurrent_takes_have_one_winner(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    session = _session(new_id())
    await session_store.create(session)
    results = await asyncio.gather(*(session_store.take(session.token_hash) for _ in range(2)))
    assert all(result is not None for result in results)
    assert sorted(result.used_at is None for result in results if result) == [False, True]


async def test_revoke_family_removes_its_tokens_only_and_remembers_it(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    user = new_id()
    family, other_family = new_id(), new_id()
    mine = [_session(user, family) for _ in range(3)]
    other = _session(user, other_family)
    for session in [*mine, other]:
        await session_store.create(session)
    await session_store.take(mine[0].token_hash)  # a used token belongs to the family too
    assert await session_store.revoked_families([family, other_family]) == [False, False]

    assert await session_store.revoke_family(family, utcnow() + timedelta(days=1)) == 3
    assert [await session_store.take(s.token_hash) for s in mine] == [None, None, None]
    assert await session_store.take(other.token_hash) == other
    assert await session_store.revoked_families([other_family, family, family]) == [
        False,
        True,
        True,
    ]
    assert await session_store.revoke_family(family, utcnow() + timedelta(hours=1)) == 0
    assert await session_store.revoked_families([family]) == [True]  # the later date stays


async def test_a_revocation_is_forgotten_once_its_date_passes(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    family = new_id()
    await session_store.revoke_family(family, utcnow() - timedelta(seconds=1))
    assert await session_store.revoked_families([family]) == [False]
    assert await session_store.revoked_families([]) == []


async def test_creating_a_session_forgets_expired_ones(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    expired = _session(new_id(), expires_in=timedelta(seconds=-1))
    await session_store.create(expired)
    # Tokens are placed by their hash: with 32 more, one lands where the expired one is
    # (on two shards, all missing it has odds of 2**-32).
    live = [_session(new_id()) for _ in range(32)]
    for session in live:
        await session_store.create(session)
    assert await session_store.take(expired.token_hash) is None
    assert await session_store.take(live[0].token_hash) == live[0]


async def test_revoke_user_removes_only_that_users_sessions(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    user, other = new_id(), new_id()
    mine = [_session(user) for _ in range(3)]
    theirs = _session(other)
    for session in [*mine, theirs]:
        await session_store.create(session)
    assert await session_store.revoke_user(user) == 3
    assert await session_store.revoke_user(user) == 0
    assert [await session_store.take(s.token_hash) for s in mine] == [None, None, None]
    assert await session_store.take(theirs.token_hash) == theirs
