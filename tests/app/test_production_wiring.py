"""The stores `chirp serve` opens from its environment have every layer the README names,
and the requests users make go through them (nothing here is assembled by hand)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.settings import from_env
from storage.instrumented import unwrapped
from storage.redis.cache import RedisCache
from storage.redis.events import RedisEventBus
from storage.redis.graph import RedisCachedFollowGraph
from storage.redis.safety import RedisCachedSafetyStore
from storage.redis.timelines import RedisCachedTimelineStore
from storage.spool import SpoolingJobQueues
from tests.backends import backend_url
from tests.support.client import GraphQLClient, running_app

ENGINES = (
    "CHIRP_USERS_URL",
    "CHIRP_TWEETS_URL",
    "CHIRP_CACHE_URL",
    "CHIRP_SEARCH_URL",
    "CHIRP_MEDIA_URL",
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GraphQLClient]:
    """The app built from the environment exactly as `chirp serve` builds it."""
    env = {name: backend_url(name) for name in ENGINES}
    env |= {
        "CHIRP_DATA_DIR": str(tmp_path),
        "CHIRP_SECRET_KEY": "wiring-test-key",
        # Every test signs up from one address within a minute, counted in the shared Redis.
        "CHIRP_SIGN_UPS_PER_MINUTE": "100000",
    }
    with running_app(from_env({**os.environ, **env})) as client:
        yield client


def test_every_cache_layer_the_readme_names_is_in_place(served: GraphQLClient) -> None:
    stores = served.http.app.state.stores
    chirp = served.http.app.state.chirp
    assert isinstance(unwrapped(stores.timelines), RedisCachedTimelineStore)
    assert isinstance(unwrapped(stores.graph), RedisCachedFollowGraph)
    assert isinstance(unwrapped(stores.safety), RedisCachedSafetyStore)
    assert isinstance(unwrapped(stores.cache), RedisCache)
    assert isinstance(unwrapped(stores.events), RedisEventBus)
    assert isinstance(unwrapped(stores.queues), SpoolingJobQueues)
    assert chirp.invalidation is not None  # L1 copies on other processes are evicted


def test_requests_fill_the_redis_layers(served: GraphQLClient) -> None:
    suffix = secrets.token_hex(3)
    author = served.sign_up(f"wired_a_{suffix}")
    reader = served.sign_up(f"wired_r_{suffix}")
    served.follow(reader["accessToken"], author["user"]["id"])
    tweet = served.post_tweet(author["accessToken"], "through every layer")
    query = "query($id: ID!) { tweet(id: $id) { author { viewerFollows } } }"
    assert served.data(query, {"id": tweet["id"]}, reader["accessToken"])["tweet"] == {
        "author": {"viewerFollows": True}
    }
    served.home(reader["accessToken"])
    reader_id, tweet_id = reader["user"]["databaseId"], tweet["databaseId"]

    async def keys() -> list[int]:
        client = Redis.from_url(backend_url("CHIRP_CACHE_URL"))
        try:
            names = [
                f"following:{reader_id}",
                f"timeline:{reader_id}",
                f"tweet:{tweet_id}",
                f"relations:{reader_id}",  # the reader's blocks and mutes, read by the policy
            ]
            return [await client.exists(name) for name in names]
        finally:
            await client.aclose()

    assert asyncio.run(keys()) == [1, 1, 1, 1]
