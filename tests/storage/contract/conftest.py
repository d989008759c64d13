"""Contract suites: every port's tests run against every adapter listed here.

`ENGINES` says which engines implement each port; `URLS` says how a test gets a URL for an
engine: a fresh migrated SQLite file or media folder for the embedded ones, the server
URL from the environment for the distributed ones. The adapter is then opened through
storage.registry, exactly as the app opens it.

To add an adapter once it exists, add its engine to URLS and to its ports in ENGINES:

    URLS["postgresql"] = server_url("CHIRP_USERS_URL")
    ENGINES["users"].append("postgresql"); ENGINES["sessions"].append("postgresql")

    URLS["cassandra"] = server_url("CHIRP_TWEETS_URL")       # tweets, timelines, graph,
                                                             # safety, engagement
    URLS["redis"] = server_url("CHIRP_CACHE_URL", fresh="prefix")   # cache, events, queue:
                                       # a fresh queue per test, so tests share no jobs
    URLS["elasticsearch"] = server_url("CHIRP_SEARCH_URL")   # search
    URLS["s3"] = server_url("CHIRP_MEDIA_URL")               # media (and MEDIA_HTTP below)

`server_url` asks tests.backends.backend_url, which skips the test when the variable is
unset (and fails under CI=true), and runs the engine's migrations (they are idempotent).

Servers are shared by every test run, so the suites isolate themselves by fresh ids,
names and keys (the `new_id` and `unique` fixtures), never by emptying tables.
"""

from __future__ import annotations

import importlib
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette

from app.ids import SnowflakeGenerator
from app.settings import Settings
from storage.records import UserRecord, utcnow
from storage.registry import MIGRATORS, Resources, open_port, scheme_of

UrlFactory = Callable[[Path], Awaitable[str]]

SETTINGS = Settings(secret_key="contract-test-secret", public_base_url="http://media.test")


async def _migrate(url: str) -> None:
    target = MIGRATORS.get(scheme_of(url))
    if target is not None:
        module_name, _, attr = target.partition(":")
        await getattr(importlib.import_module(module_name), attr)(url)


async def fresh_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/contract.db"  # tmp_path is absolute: sqlite:////tmp/...
    await _migrate(url)
    return url


async def fresh_media_folder(tmp_path: Path) -> str:
    return f"file:///{tmp_path}/media"


async def in_process(tmp_path: Path) -> str:
    return "memory://"


def server_url(env_name: str, fresh: str | None = None) -> UrlFactory:
    """A configured server's URL; with `fresh`, a new random value of that URL query
    parameter per test (e.g. a queue's stream name)."""

    async def url(tmp_path: Path) -> str:
        from tests.backends import backend_url

        found = backend_url(env_name)
        if fresh is not None:
            separator = "&" if urlsplit(found).query else "?"
            found += separator + urlencode({fresh: f"contract-{secrets.token_hex(6)}"})
        await _migrate(found)
        return found

    return url


URLS: dict[str, UrlFactory] = {
    "sqlite": fresh_sqlite,
    "memory": in_process,
    "file": fresh_media_folder,
    "s3": server_url("CHIRP_MEDIA_URL"),
    "cassandra": server_url("CHIRP_TWEETS_URL"),
    "postgresql": server_url("CHIRP_USERS_URL"),
    "redis": server_url("CHIRP_CACHE_URL", fresh="prefix"),
    "elasticsearch": server_url("CHIRP_SEARCH_URL"),
}

ENGINES: dict[str, list[str]] = {
    "users": ["sqlite", "postgresql"],
    "sessions": ["sqlite", "postgresql"],
    "moderation": ["sqlite", "postgresql"],
    "lifecycle": ["sqlite", "postgresql"],
    "tweets": ["sqlite", "cassandra"],
    "timelines": ["sqlite", "cassandra", "sqlite+redis"],
    "graph": ["sqlite", "cassandra", "sqlite+redis"],
    "safety": ["sqlite", "cassandra", "sqlite+redis"],
    "engagement": ["sqlite", "cassandra"],
    "notifications": ["sqlite", "cassandra", "sqlite+redis"],
    "search": ["sqlite", "elasticsearch"],
    "media": ["file", "s3"],
    "cache": ["memory", "redis"],
    "events": ["memory", "redis"],
    "queues": ["sqlite", "memory", "redis"],
}

# Queues that survive their process (reopened on the same URL, the jobs are still there).
DURABLE_QUEUES = {"sqlite", "redis"}


def engines(port: str) -> list[Any]:
    return [pytest.param(engine, id=engine) for engine in ENGINES[port]]


@pytest.fixture
async def resources() -> AsyncIterator[Resources]:
    opened = Resources(SETTINGS)
    yield opened
    await opened.close()


async def open_on(engine: str, ports: list[str], tmp_path: Path, resources: Resources) -> list[Any]:
    """Open several ports on one URL of `engine` (e.g. engagement beside its tweets)."""
    if engine == "sqlite+redis":  # Redis caches in front of SQLite
        return [await _redis_cached(ports[0], tmp_path, resources)]
    url = await URLS[engine](tmp_path)
    return [await open_port(port, url, resources) for port in ports]


async def _redis_cached(port: str, tmp_path: Path, resources: Resources) -> Any:
    from storage.redis.client import shared_client
    from storage.redis.graph import RedisCachedFollowGraph
    from storage.redis.notifications import RedisUnreadNotificationStore
    from storage.redis.safety import RedisCachedSafetyStore
    from storage.redis.timelines import RedisCachedTimelineStore

    redis_url = await URLS["redis"](tmp_path)
    inner = await open_port(port, await fresh_sqlite(tmp_path), resources)
    cache = {
        "timelines": RedisCachedTimelineStore,
        "graph": RedisCachedFollowGraph,
        "safety": RedisCachedSafetyStore,
        "notifications": RedisUnreadNotificationStore,
    }[port]
    return cache(inner, await shared_client(redis_url, resources))


def _port_fixture(port: str, name: str) -> Any:
    @pytest.fixture(params=engines(port), name=name)
    async def opened(request: pytest.FixtureRequest, tmp_path: Path, resources: Resources) -> Any:
        [adapter] = await open_on(request.param, [port], tmp_path, resources)
        return adapter

    return opened


user_store = _port_fixture("users", "user_store")
session_store = _port_fixture("sessions", "session_store")
moderation_store = _port_fixture("moderation", "moderation_store")
lifecycle_store = _port_fixture("lifecycle", "lifecycle_store")
tweet_store = _port_fixture("tweets", "tweet_store")
timeline_store = _port_fixture("timelines", "timeline_store")
follow_graph = _port_fixture("graph", "follow_graph")
safety_store = _port_fixture("safety", "safety_store")
notification_store = _port_fixture("notifications", "notification_store")
search_index = _port_fixture("search", "search_index")
media_store = _port_fixture("media", "media_store")
cache = _port_fixture("cache", "cache")
event_bus = _port_fixture("events", "event_bus")
job_queues = _port_fixture("queues", "job_queues")


@pytest.fixture
def job_queue(job_queues: Any) -> Any:
    """One stream of the engine's job queues."""
    return job_queues.stream("contract")


@pytest.fixture(params=engines("engagement"))
async def engagement(
    request: pytest.FixtureRequest, tmp_path: Path, resources: Resources
) -> tuple[Any, Any]:
    """(EngagementStore, TweetStore) on one engine: counters belong to stored tweets."""
    engagement_store, tweets = await open_on(
        request.param, ["engagement", "tweets"], tmp_path, resources
    )
    return engagement_store, tweets


NewTweet = Callable[[], Awaitable[Any]]  # makes a stored TweetRecord


@pytest.fixture
def store(engagement: tuple[Any, Any]) -> Any:
    """The EngagementStore of `engagement`."""
    return engagement[0]


@pytest.fixture
def new_tweet(engagement: tuple[Any, Any], new_id: Callable[[], int]) -> NewTweet:
    """A tweet stored beside the engagement store, by an author of its own."""
    from storage.records import TweetRecord, utcnow

    tweets = engagement[1]

    async def make() -> TweetRecord:
        now = utcnow()
        tweet = TweetRecord(new_id(), new_id(), "engaging", now, now)
        await tweets.create(tweet)
        return tweet

    return make


@pytest.fixture(params=[pytest.param(e, id=e) for e in ENGINES["queues"] if e in DURABLE_QUEUES])
async def durable_queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await URLS[request.param](tmp_path)


def _local_media_http(store: Any) -> httpx2.AsyncClient:
    from app.media_routes import media_routes

    app = Starlette(routes=media_routes())
    app.state.stores = type("Stores", (), {"media": store})()
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))


# How a client reaches each media engine's signed URLs: the app's routes for the local
# folder; S3 URLs point at S3 itself (add "s3": lambda store: httpx2.AsyncClient()).
MEDIA_HTTP: dict[str, Callable[[Any], httpx2.AsyncClient]] = {
    "file": _local_media_http,
    "s3": lambda store: httpx2.AsyncClient(),
}


@pytest.fixture
async def media_http(media_store: Any, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    engine = request.node.callspec.params["media_store"]
    async with MEDIA_HTTP[engine](media_store) as client:
        yield client


@pytest.fixture
def new_id() -> Callable[[], int]:
    """Fresh, increasing Snowflake ids (a random worker id keeps parallel runs apart)."""
    return SnowflakeGenerator(random.randrange(1024)).next_id


@pytest.fixture
def make_user(new_id: Callable[[], int], unique: Callable[[str], str]) -> Callable[..., UserRecord]:
    """A user record with fresh id, username and email; `fields` override any of it."""

    def make(**fields: object) -> UserRecord:
        name = unique("u")
        now = utcnow()
        values: dict[str, object] = {
            "id": new_id(),
            "username": name,
            "email": f"{name}@example.com",
            "password_hash": "argon2-hash",
            "display_name": name.title(),
            "created_at": now,
            "updated_at": now,
        }
        values.update(fields)
        return UserRecord(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A name no other test run uses: unique("user") -> "user_3f9a1c2b"."""
    return lambda prefix: f"{prefix}_{secrets.token_hex(4)}"
