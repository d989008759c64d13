"""RedisCache: the shared L2 cache (and rate-limit counters) behind the in-process L1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis

from storage.redis.client import redis_errors


class RedisCache:
    shared = True

    def __init__(self, client: Redis) -> None:
        self._client = client

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        async with redis_errors("get"):
            found: list[Any] = await self._client.mget(list(keys))
        return found

    async def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        if not items:
            return
        async with redis_errors("set"), self._client.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(key, value, px=max(1, int(ttl_s * 1000)))
            await pipe.execute()

    async def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            async with redis_errors("delete"):
                await self._client.delete(*keys)

    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        """INCRBY and an expiry set only when the counter is created (PEXPIRE NX), atomically."""
        async with redis_errors("incr"), self._client.pipeline(transaction=True) as pipe:
            pipe.incrby(key, amount)
            pipe.pexpire(key, max(1, int(ttl_s * 1000)), nx=True)
            value, _ = await pipe.execute()
        return int(value)
