"""URL scheme -> adapter, imported lazily so only the chosen drivers are loaded.

Each opener is `async def open_x(url: str, resources: Resources) -> Port`. Adapters that
share a connection (one SQLite file behind several ports, one Redis client behind the
cache, queue and bus) get it through `Resources.shared`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from storage.ports import (
    Cache,
    EngagementStore,
    EventBus,
    FollowGraph,
    JobQueues,
    LifecycleStore,
    MediaStore,
    ModerationStore,
    NotificationStore,
    SafetyStore,
    SearchIndex,
    SessionStore,
    TimelineStore,
    TweetStore,
    UserStore,
)

_SQLITE = "storage.sqlite"
_MEMORY = "storage.memory"

ADAPTERS: dict[str, dict[str, str]] = {
    "users": {
        "sqlite": f"{_SQLITE}:open_user_store",
        "postgresql": "storage.postgres:open_user_store",
    },
    "sessions": {
        "sqlite": f"{_SQLITE}:open_session_store",
        "postgresql": "storage.postgres:open_session_store",
    },
    "moderation": {
        "sqlite": f"{_SQLITE}:open_moderation_store",
        "postgresql": "storage.postgres:open_moderation_store",
    },
    "lifecycle": {
        "sqlite": f"{_SQLITE}:open_lifecycle_store",
        "postgresql": "storage.postgres:open_lifecycle_store",
    },
    "tweets": {
        "sqlite": f"{_SQLITE}:open_tweet_store",
        "cassandra": "storage.cassandra:open_tweet_store",
    },
    "timelines": {
        "sqlite": f"{_SQLITE}:open_timeline_store",
        "cassandra": "storage.cassandra:open_timeline_store",
    },
    "graph": {
        "sqlite": f"{_SQLITE}:open_follow_graph",
        "cassandra": "storage.cassandra:open_follow_graph",
    },
    "safety": {
        "sqlite": f"{_SQLITE}:open_safety_store",
        "cassandra": "storage.cassandra:open_safety_store",
    },
    "notifications": {
        "sqlite": f"{_SQLITE}:open_notification_store",
        "cassandra": "storage.cassandra:open_notification_store",
    },
    "engagement": {
        "sqlite": f"{_SQLITE}:open_engagement_store",
        "cassandra": "storage.cassandra:open_engagement_store",
    },
    "search": {
        "sqlite": f"{_SQLITE}:open_search_index",
        "http": "storage.elasticsearch:open_search_index",
        "https": "storage.elasticsearch:open_search_index",
    },
    "media": {"file": "storage.local_media:open_media_store", "s3": "storage.s3:open_media_store"},
    "cache": {"memory": f"{_MEMORY}:open_cache", "redis": "storage.redis:open_cache"},
    "events": {"memory": f"{_MEMORY}:open_event_bus", "redis": "storage.redis:open_event_bus"},
    "queues": {
        "sqlite": f"{_SQLITE}:open_job_queue",
        "memory": f"{_MEMORY}:open_job_queue",
        "redis": "storage.redis:open_job_queue",
    },
}


class UnknownScheme(ValueError):
    pass


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.split("+", 1)[0]


def check_url(port: str, url: str) -> None:
    valid = ADAPTERS[port]
    if scheme_of(url) not in valid:
        names = ", ".join(f"{scheme}://" for scheme in valid)
        raise UnknownScheme(f"{port} URL {url!r} has an unknown scheme; valid schemes are: {names}")


@dataclass
class Resources:
    """Connections shared between adapters, closed in reverse order of opening."""

    settings: Any
    _shared: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def shared(
        self,
        key: str,
        factory: Callable[[], Awaitable[Any]],
        close: Callable[[Any], Awaitable[None]] | None = None,
    ) -> Any:
        if key not in self._shared:
            value = await factory()
            self._shared[key] = value
            if close is not None:
                self._closers.append(lambda: close(value))
        return self._shared[key]

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def close(self) -> None:
        while self._closers:
            await self._closers.pop()()
        self._shared.clear()


@dataclass
class Stores:
    users: UserStore
    sessions: SessionStore
    moderation: ModerationStore
    lifecycle: LifecycleStore
    tweets: TweetStore
    timelines: TimelineStore
    graph: FollowGraph
    safety: SafetyStore
    engagement: EngagementStore
    notifications: NotificationStore
    search: SearchIndex
    media: MediaStore
    cache: Cache
    events: EventBus
    queues: JobQueues
    resources: Resources

    async def close(self) -> None:
        await self.resources.close()


def port_urls(settings: Any) -> dict[str, str]:
    return {
        "users": settings.users_url,
        "sessions": settings.users_url,
        "moderation": settings.users_url,
        "lifecycle": settings.users_url,
        "tweets": settings.tweets_url,
        "timelines": settings.tweets_url,
        "graph": settings.tweets_url,
        "safety": settings.tweets_url,
        "engagement": settings.tweets_url,
        "notifications": settings.tweets_url,
        "search": settings.search_url,
        "media": settings.media_url,
        "cache": settings.cache_url,
        "events": settings.cache_url,
        "queues": queue_url(settings),
    }


def queue_url(settings: Any) -> str:
    """The job queue follows the cache engine when it is shared (Redis), else the tweets
    database when it is SQLite (durable), else the in-process queue."""
    if settings.queue_url:
        return str(settings.queue_url)
    if scheme_of(settings.cache_url) == "redis":
        return str(settings.cache_url)
    if scheme_of(settings.tweets_url) == "sqlite":
        return str(settings.tweets_url)
    return "memory://"


async def open_port(port: str, url: str, resources: Resources) -> Any:
    check_url(port, url)
    module_name, _, attr = ADAPTERS[port][scheme_of(url)].partition(":")
    opener = getattr(importlib.import_module(module_name), attr)
    return await opener(url, resources)


async def open_stores(settings: Any) -> Stores:
    urls = port_urls(settings)
    for port, url in urls.items():
        check_url(port, url)
    resources = Resources(settings)
    opened: dict[str, Any] = {}
    try:
        for port, url in urls.items():
            opened[port] = await open_port(port, url, resources)
        if scheme_of(urls["queues"]) == "redis":
            opened["queues"] = await _with_spool(opened["queues"], settings, resources)
        if scheme_of(urls["cache"]) == "redis":
            opened["timelines"] = await _with_timeline_cache(
                opened["timelines"], urls["cache"], resources
            )
            opened["graph"] = await _with_graph_cache(opened["graph"], urls["cache"], resources)
            opened["safety"] = await _with_safety_cache(opened["safety"], urls["cache"], resources)
            opened["notifications"] = await _with_unread_counts(
                opened["notifications"], urls["cache"], resources
            )
    except BaseException:
        await resources.close()
        raise
    return Stores(resources=resources, **opened)


async def _with_timeline_cache(store: Any, cache_url: str, resources: Resources) -> Any:
    """Home timelines' newest entries as Redis sorted sets in front of the store."""
    from storage.redis.client import shared_client
    from storage.redis.timelines import RedisCachedTimelineStore

    return RedisCachedTimelineStore(store, await shared_client(cache_url, resources))


async def _with_graph_cache(graph: Any, cache_url: str, resources: Resources) -> Any:
    """`following:{id}` sets in Redis in front of the follow graph."""
    from storage.redis.client import shared_client
    from storage.redis.graph import RedisCachedFollowGraph

    return RedisCachedFollowGraph(graph, await shared_client(cache_url, resources))


async def _with_safety_cache(safety: Any, cache_url: str, resources: Resources) -> Any:
    """`relations:{id}` values in Redis in front of the safety store."""
    from storage.redis.client import shared_client
    from storage.redis.safety import RedisCachedSafetyStore

    return RedisCachedSafetyStore(safety, await shared_client(cache_url, resources))


async def _with_unread_counts(notifications: Any, cache_url: str, resources: Resources) -> Any:
    """`notifications:unread:{id}` counts in Redis in front of the notification store."""
    from storage.redis.client import shared_client
    from storage.redis.notifications import RedisUnreadNotificationStore

    return RedisUnreadNotificationStore(notifications, await shared_client(cache_url, resources))


async def _with_spool(shared: Any, settings: Any, resources: Resources) -> Any:
    """A durable local spool behind a shared queue, for when Redis is down."""
    from storage.spool import SpoolingJobQueues
    from storage.sqlite import migrate as migrate_sqlite

    spool_url = _spool_url(settings.data_dir)
    await migrate_sqlite(spool_url)
    return SpoolingJobQueues(shared, await open_port("queues", spool_url, resources))


def store_names() -> list[str]:
    return [f.name for f in fields(Stores) if f.name != "resources"]


# Engines with a schema of their own: `migrate(url) -> list[str]` applies what is missing.
MIGRATORS: dict[str, str] = {
    "sqlite": f"{_SQLITE}:migrate",
    "postgresql": "storage.postgres:migrate",
    "cassandra": "storage.cassandra:migrate",
    "http": "storage.elasticsearch:migrate",
    "https": "storage.elasticsearch:migrate",
}


async def migrate_all(settings: Any) -> dict[str, list[str]]:
    """Apply every engine's migrations once per distinct URL; returns versions applied."""
    applied: dict[str, list[str]] = {}
    for url in dict.fromkeys(port_urls(settings).values()):
        target = MIGRATORS.get(scheme_of(url))
        if target is None:
            continue
        module_name, _, attr = target.partition(":")
        migrate = getattr(importlib.import_module(module_name), attr)
        applied[url] = await migrate(url)
    return applied


def _spool_url(data_dir: Any) -> str:
    return f"sqlite:///{os.path.abspath(data_dir)}/spool.db"
