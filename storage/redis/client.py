"""One redis.asyncio client per server, shared by the cache, the event bus and the queue;
every call has a timeout, and driver errors become storage errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
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


async def shared_client(url: str, resources: Resources) -> Redis:
    server, _ = split_url(url)

    async def connect() -> Redis:
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

    async def close(client: Redis) -> None:
        await client.aclose()

    client: Redis = await resources.shared(f"redis:{server}", connect, close)
    return client


@asynccontextmanager
async def redis_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise Unavailable(f"Redis unavailable ({what}): {type(error).__name__}") from error
    except RedisError as error:
        raise StorageError(f"Redis refused ({what}): {error}") from error
