"""Redis adapters: the shared cache, live events over pub/sub and the job queue on a
Stream, all on one client per server. `redis://h:6379/0` (the queue also takes
`?stream=name&max_attempts=5`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.redis.cache import RedisCache
from storage.redis.client import shared_client, split_url
from storage.redis.events import RedisEventBus
from storage.redis.queue import DEFAULT_MAX_ATTEMPTS, RedisJobQueue
from storage.registry import Resources

if TYPE_CHECKING:
    from storage.ports import Cache, EventBus, JobQueue

__all__ = ["RedisCache", "RedisEventBus", "RedisJobQueue"]


async def open_cache(url: str, resources: Resources) -> RedisCache:
    return RedisCache(await shared_client(url, resources))


async def open_event_bus(url: str, resources: Resources) -> RedisEventBus:
    return RedisEventBus(await shared_client(url, resources))


async def open_job_queue(url: str, resources: Resources) -> RedisJobQueue:
    _, options = split_url(url)
    queue = RedisJobQueue(
        await shared_client(url, resources),
        stream=options.get("stream", "jobs"),
        max_attempts=int(options.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
    )
    await queue.ensure_group()
    return queue


if TYPE_CHECKING:
    _checks: tuple[Cache, EventBus, JobQueue] = (
        RedisCache(None),  # type: ignore[arg-type]
        RedisEventBus(None),  # type: ignore[arg-type]
        RedisJobQueue(None, ""),  # type: ignore[arg-type]
    )
