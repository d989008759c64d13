"""RedisCache: the shared L2 cache behind the in-process L1, rate-limit counters, and
count-once tallies (views: a mark per viewer and tweet, a hash of counts to flush)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis

from storage.redis.client import redis_errors

# count_once: SET NX with the TTL for each mark; HINCRBY the tally for each new one. A
# script, so one round trip does it all and no other client sees half of it.
_COUNT_ONCE = """
local new = 0
for i = 1, #KEYS - 1 do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[1]) then
    redis.call('HINCRBY', KEYS[#KEYS], ARGV[i + 1], 1)
    new = new + 1
  end
end
return new
"""


class RedisCache:
    shared = True

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._count_once = client.register_script(_COUNT_ONCE)

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

    async def count_once(self, marks: Mapping[str, str], ttl_s: float, tally: str) -> int:
        if not marks:
            return 0
        ttl_ms = max(1, int(ttl_s * 1000))
        async with redis_errors("count_once"):
            new = await self._count_once(keys=[*marks, tally], args=[ttl_ms, *marks.values()])
        return int(new)

    async def take_tally(self, tally: str) -> dict[str, int]:
        """HGETALL and DEL in one MULTI/EXEC: a concurrent taker gets the rest, never these."""
        async with redis_errors("take_tally"), self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(tally)
            pipe.delete(tally)
            counts, _ = await pipe.execute()
        return {field.decode(): int(count) for field, count in counts.items()}

    async def add_to_tally(self, tally: str, counts: Mapping[str, int]) -> None:
        if not counts:
            return
        async with redis_errors("add_to_tally"), self._client.pipeline(transaction=True) as pipe:
            for field, count in counts.items():
                pipe.hincrby(tally, field, count)
            await pipe.execute()

    async def scan(
        self, prefix: str, cursor: str | None, count: int
    ) -> tuple[list[str], str | None]:
        """SCAN with a MATCH: its cursor is Redis's own."""
        async with redis_errors("scan"):
            after, found = await self._client.scan(
                int(cursor or 0), match=f"{_glob_escape(prefix)}*", count=count
            )
        keys = [key.decode() if isinstance(key, bytes) else str(key) for key in found]
        return keys, (None if int(after) == 0 else str(after))


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
