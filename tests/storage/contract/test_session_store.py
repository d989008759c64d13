"""SessionStore contract: a refresh token is taken at most once; revoking removes them all."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import timedelta

from storage.ports import SessionStore
from storage.records import SessionRecord, utcnow


def _session(user_id: int) -> SessionRecord:
    now = utcnow()
    return SessionRecord(
        token_hash=secrets.token_hex(32),
        user_id=user_id,
        expires_at=now + timedelta(days=30),
        created_at=now,
    )


async def test_take_returns_the_session_once(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    session = _session(new_id())
    await session_store.create(session)
    assert await session_store.take(session.token_hash) == session
    assert await session_store.take(session.token_hash) is None


async def test_take_of_an_unknown_token_is_none(session_store: SessionStore) -> None:
    assert await session_store.take(secrets.token_hex(32)) is None


async def test_two_concurrent_takes_have_one_winner(
    session_store: SessionStore, new_id: Callable[[], int]
) -> None:
    session = _session(new_id())
    await session_store.create(session)
    results = await asyncio.gather(*(session_store.take(session.token_hash) for _ in range(2)))
    assert sorted(results, key=lambda result: result is None) == [session, None]


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
