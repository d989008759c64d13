"""Physical shards: one asyncpg pool per database, the shard map that places the 100
logical shards on them, and the mapping of driver errors to storage errors."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from storage.errors import StorageError, Unavailable
from storage.sharding import LOGICAL_SHARDS, ShardMap

T = TypeVar("T")
CONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_S = 10.0


# Shards are DSNs separated by commas; a DSN may itself name several hosts, separated by
# commas too (`postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write`: a
# primary and its standbys, tried in order, the writable one taken), so a shard starts only
# where a comma is followed by a scheme.
_NEXT_DSN = re.compile(r",\s*(?=postgres(?:ql)?://)")


def split_dsns(url: str) -> list[str]:
    dsns = [dsn.strip() for dsn in _NEXT_DSN.split(url) if dsn.strip()]
    if not dsns or not all(dsn.startswith(("postgresql://", "postgres://")) for dsn in dsns):
        raise ValueError(f"users URL {url!r} must be postgresql://... DSNs separated by commas")
    return dsns


def dsn_hosts(dsn: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a DSN names, in order."""
    netloc = urlsplit(dsn).netloc.rpartition("@")[2]
    hosts = []
    for part in netloc.split(","):
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        hosts.append((host or "localhost", int(port) if port else 5432))
    return hosts


@asynccontextmanager
async def driver_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        # No host of a multi-host DSN is writable (the primary is gone and no standby has
        # been promoted yet: a failover's window), or a connection's state broke as its
        # server died mid-operation: both are the driver's InternalClientError.
        asyncpg.InternalClientError,
        asyncpg.ReadOnlySQLTransactionError,
    ) as error:
        raise Unavailable(f"PostgreSQL unavailable ({what}): {type(error).__name__}") from error
    except asyncpg.PostgresError as error:
        raise StorageError(f"PostgreSQL refused ({what}): {error}") from error


MAP_REFRESH_S = 1.0  # how stale a process's shard map may be; a move waits longer than this


class Shards:
    def __init__(self, pools: list[asyncpg.Pool], shard_map: ShardMap) -> None:
        self.pools = pools
        self.map = shard_map
        self.map_version = 0
        self._refresher: asyncio.Task[None] | None = None

    async def ping(self) -> None:
        """Every physical shard answers, asked at once."""

        async def one(pool: asyncpg.Pool) -> None:
            async with driver_errors("ping"):
                await pool.fetchval("SELECT 1")

        await asyncio.gather(*(one(pool) for pool in self.pools))

    @classmethod
    async def open(cls, url: str, min_size: int = 1, max_size: int = 10) -> Shards:
        pools: list[asyncpg.Pool] = []
        try:
            for dsn in split_dsns(url):
                async with driver_errors("connect"):
                    pool = await asyncio.wait_for(
                        asyncpg.create_pool(
                            dsn,
                            min_size=min_size,
                            max_size=max_size,
                            timeout=CONNECT_TIMEOUT_S,
                            command_timeout=STATEMENT_TIMEOUT_S,
                        ),
                        CONNECT_TIMEOUT_S * 2,
                    )
                pools.append(pool)
            shards = cls(pools, ShardMap.round_robin(len(pools)))
            await shards.reload_map()
            shards._refresher = asyncio.create_task(shards._keep_map_fresh())
            return shards
        except BaseException:
            await asyncio.gather(*(pool.close() for pool in pools))
            raise

    async def _keep_map_fresh(self) -> None:
        """A cheap version check every MAP_REFRESH_S; the map itself only when it changed."""
        while True:
            await asyncio.sleep(MAP_REFRESH_S)
            try:
                async with driver_errors("shard map version"):
                    version = await self.pools[0].fetchval("SELECT version FROM shard_map_version")
                if version != self.map_version:
                    await self.reload_map()
            except StorageError:
                continue  # the next round tries again; the old map keeps serving meanwhile

    async def reload_map(self) -> None:
        async with driver_errors("shard map"):
            version = await self.pools[0].fetchval("SELECT version FROM shard_map_version")
            rows = await self.pools[0].fetch("SELECT logical_shard, physical_shard FROM shard_map")
        if len(rows) != LOGICAL_SHARDS:
            raise StorageError("the shard map is missing: run `chirp migrate` first")
        placement = {row["logical_shard"]: row["physical_shard"] for row in rows}
        if max(placement.values()) >= len(self.pools):
            raise StorageError("the shard map names more physical shards than CHIRP_USERS_URL")
        self.map = ShardMap.from_rows(placement)
        self.map_version = int(version or 0)

    def for_id(self, entity_id: int) -> asyncpg.Pool:
        return self.pools[self.map.physical_for_id(entity_id)]

    def for_key(self, key: str) -> asyncpg.Pool:
        return self.pools[self.map.physical_for_key(key)]

    async def each(self, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> list[T]:
        """The same work on every physical shard, concurrently."""
        return list(await asyncio.gather(*(work(pool) for pool in self.pools)))

    async def by_id(
        self, ids: Sequence[int], work: Callable[[asyncpg.Pool, list[int]], Awaitable[list[T]]]
    ) -> list[T]:
        """Ids grouped by physical shard, one call per shard, concurrently; results joined."""
        groups = self.map.group_ids(dict.fromkeys(ids))
        results = await asyncio.gather(
            *(work(self.pools[physical], group) for physical, group in groups.items())
        )
        return [item for result in results for item in result]

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await asyncio.gather(*(pool.close() for pool in self.pools))


async def fetch(pool: asyncpg.Pool, sql: str, *args: Any) -> list[Any]:
    async with driver_errors("query"):
        return list(await pool.fetch(sql, *args))
