"""Redis adapters: the shared cache, live events over pub/sub and the job queue on a
Stream, all on one client per server. `redis://h:6379/0`, or through Sentinel
`redis+sentinel://h:26379,h2:26379/SERVICE/0` (storage/redis/client.py). The queue also takes
`?prefix=chirp:jobs&max_attempts=5` (its streams are the keys `<prefix>:<name>`) and
`?replicas=1`: a job is acknowledged only once that many replicas have it (`WAIT`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.redis.cache import RedisCache
from storage.redis.client import shared_client, split_url
from storage.redis.events import RedisEventBus
from storage.redis.queue import DEFAULT_MAX_ATTEMPTS, DEFAULT_PREFIX, RedisJobQueue, RedisJobQueues
from storage.registry import Resources

if TYPE_CHECKING:
    from storage.ports import Cache, EventBus, JobQueue, JobQueues

__all__ = ["RedisCache", "RedisEventBus", "RedisJobQueue", "RedisJobQueues"]


async def open_cache(url: str, resources: Resources) -> RedisCache:
    return RedisCache(await shared_client(url, resources))


async def open_event_bus(url: str, resources: Resources) -> RedisEventBus:
    bus = RedisEventBus(await shared_client(url, resources))
    resources.on_close(bus.close)  # before the client closes: closers run in reverse
    return bus


async def open_job_queue(url: str, resources: Resources) -> RedisJobQueues:
    _, options = split_url(url)
    return RedisJobQueues(
        await shared_client(url, resources),
        max_attempts=int(options.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
        prefix=options.get("prefix", DEFAULT_PREFIX),
        replicas=int(options.get("replicas", 0)),
    )


if TYPE_CHECKING:
    _checks: tuple[Cache, EventBus, JobQueue, JobQueues] = (
        RedisCache(None),  # type: ignore[arg-type]
        RedisEventBus(None),  # type: ignore[arg-type]
        RedisJobQueue(None, ""),  # type: ignore[arg-type]
        RedisJobQueues(None),  # type: ignore[arg-type]
    )
