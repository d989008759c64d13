"""Suspending an account the way a moderator's action does (the user store, then the user
cache evicted), for tests of what a suspension hides; tests/resolvers/test_moderation.py
covers the moderators' side."""

from __future__ import annotations

from datetime import timedelta

from storage.records import utcnow
from tests.support.client import GraphQLClient


def suspend(client: GraphQLClient, database_id: str, for_s: int = 3600) -> None:
    chirp = client.http.app.state.chirp
    user_id = int(database_id)

    async def run() -> None:
        await chirp.stores.users.set_suspended(user_id, utcnow() + timedelta(seconds=for_s))
        await chirp.user_cache.invalidate([user_id])

    client.http.portal.call(run)
