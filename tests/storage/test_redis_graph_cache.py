"""The Redis `following:{id}` cache never answers with a follow that is gone."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.instrumented import CountingProxy, count_calls
from storage.records import utcnow
from storage.redis.client import shared_client
from storage.redis.graph import RedisCachedFollowGraph
from storage.registry import Resources, open_port
from tests.backends import backend_url
from tests.storage.contract.conftest import SETTINGS, fresh_sqlite


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[RedisCachedFollowGraph]:
    redis_url = backend_url("CHIRP_CACHE_URL")  # skips before anything is opened
    resources = Resources(SETTINGS)
    try:
        inner = CountingProxy(
            "store", await open_port("graph", await fresh_sqlite(tmp_path), resources)
        )
        client = await shared_client(redis_url, resources)
        yield RedisCachedFollowGraph(inner, client)  # type: ignore[arg-type]
    finally:
        await resources.close()


async def test_answers_from_the_set_and_follows_every_change(graph: RedisCachedFollowGraph) -> None:
    viewer, a, b = (secrets.randbelow(2**62) for _ in range(3))
    await graph.follow(viewer, a, utcnow())
    assert await graph.is_following_many([(viewer, a), (viewer, b)]) == [True, False]  # builds
    with count_calls() as calls:
        assert await graph.is_following_many([(viewer, a), (viewer, b)]) == [True, False]
    assert not calls, calls  # answered by Redis alone
    await graph.unfollow(viewer, a)
    assert await graph.is_following_many([(viewer, a)]) == [False]
    await graph.follow(viewer, b, utcnow())
    assert await graph.is_following_many([(viewer, a), (viewer, b)]) == [False, True]
