"""One redis.asyncio client per server, shared by the cache, the event bus and the queue;
every call has a timeout, and driver errors become storage errors.

`redis://host:6379/0` names one server. `redis+sentinel://h1:26379,h2:26379/SERVICE/0` names
Sentinels watching the primary of SERVICE: the client asks them for the current primary, and
after a failover its new connections go to the promoted replica by themselves."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage.errors import StorageError, Unavailable
from storage.registry import Resources

SOCKET_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 128  # per process and server


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The server URL without Chirp's own query options (e.g. ?stream=), and those options."""
    parts = urlsplit(url)
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query="")), options


def new_client(url: str) -> Redis:
    """A client of its own (close it with `close_client`); `shared_client` shares one."""
    server, _ = split_url(url)
    parts = urlsplit(server)
    if parts.scheme == "redis+sentinel":
        return _primary_of(parts.netloc, parts.path)
    # A busy process (a worker with many jobs in flight, a server with many requests)
    # waits for a free connection instead of failing when all are in use.
    pool = BlockingConnectionPool.from_url(
        server,
        max_connections=MAX_CONNECTIONS,
        timeout=SOCKET_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


def _primary_of(netloc: str, path: str) -> Redis:
    service, _, db = path.strip("/").partition("/")
    if not service:
        raise ValueError("redis+sentinel://host:port[,host:port]/SERVICE[/db] names no service")
    sentinels = []
    for host in netloc.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
        sentinels.append((name, int(port) if port else 26379))
    timeouts = {"socket_timeout": SOCKET_TIMEOUT_S, "socket_connect_timeout": SOCKET_TIMEOUT_S}
    sentinel = Sentinel(
        sentinels,
        sentinel_kwargs=timeouts,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
    )
    client: Redis = sentinel.master_for(
        service, db=int(db or 0), max_connections=MAX_CONNECTIONS, health_check_interval=30
    )
    _SENTINELS[client] = sentinel
    return client


# The Sentinel a client asks for its primary: closed with it (its own connections to each
# Sentinel are not the client's pool's).
_SENTINELS: weakref.WeakKeyDictionary[Redis, Sentinel] = weakref.WeakKeyDictionary()


async def close_client(client: Redis) -> None:
    await client.aclose()
    sentinel = _SENTINELS.pop(client, None)
    if sentinel is not None:
        for each in sentinel.sentinels:
            await each.aclose()


async def shared_client(url: str, resources: Resources) -> Redis:
    server, _ = split_url(url)

    async def connect() -> Redis:
        return new_client(url)

    async def close(client: Redis) -> None:
        await close_client(client)

    client: Redis = await resources.shared(f"redis:{server}", connect, close)
    return client


@asynccontextmanager
async def redis_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    # ReadOnlyError: a write reached a primary that has just been demoted (a failover).
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError) as error:
        raise Unavailable(f"Redis unavailable ({what}): {type(error).__name__}") from error
    except RedisError as error:
        raise StorageError(f"Redis refused ({what}): {error}") from error
