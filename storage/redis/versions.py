"""Versioned invalidation for values cached in Redis under `{prefix}:{id}`, shared by the
layers whose answers must never be stale (`following:{id}`, `relations:{id}`, privacy rests
on them; `notifications:unread:{id}`).

A writer changes the store first, then `changed(ids)`: INCR `{prefix}:{id}:v` and DEL the
value, in one transaction. A reader that misses notes the version (`version(id)`) before
rebuilding from the store, and writes the rebuilt value only if the version has not moved
since (`fill` for a string value, or a layer's own script for a set), so a rebuild racing a
write can never leave a stale value behind. Invalidations Redis missed are remembered and
sent before any read (`flush`), so no read uses the cache until they are.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("chirp.cache_versions")

# Write a rebuilt string value only if no write changed its entity since the rebuild began.
_SET_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


class Versions:
    def __init__(self, client: Redis, prefix: str, ttl_s: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._unsent: set[int] = set()
        self._set_if_unchanged = client.register_script(_SET_IF_UNCHANGED)

    def key(self, entity_id: int) -> str:
        return f"{self._prefix}:{entity_id}"

    def version_key(self, entity_id: int) -> str:
        return f"{self.key(entity_id)}:v"

    async def changed(self, *entity_ids: int) -> None:
        """After a write to the store: bump the versions and drop the cached values."""
        self._unsent.update(entity_ids)
        try:
            await self.flush()
        except RedisError:
            log.error("%s cache: could not invalidate %d values yet", self._prefix, len(entity_ids))

    async def flush(self) -> None:
        """Send the invalidations Redis missed (raises RedisError if it still cannot)."""
        if not self._unsent:
            return
        pending = list(self._unsent)
        async with self._client.pipeline(transaction=True) as pipe:
            for entity_id in pending:
                pipe.incr(self.version_key(entity_id))
                pipe.expire(self.version_key(entity_id), self._ttl_s * 2)
                pipe.delete(self.key(entity_id))
            await pipe.execute()
        self._unsent.difference_update(pending)

    async def version(self, entity_id: int) -> str:
        """The version a rebuild starts from, for its fill script to compare."""
        found: Any = await self._client.get(self.version_key(entity_id))
        return (found or b"0").decode()

    async def fill(self, entity_id: int, version: str, value: bytes | str, ttl_s: int) -> bool:
        """Store a value rebuilt from the store, unless the version moved since `version`
        (a write raced the rebuild: the next read rebuilds again)."""
        keys = [self.key(entity_id), self.version_key(entity_id)]
        return bool(await self._set_if_unchanged(keys=keys, args=[version, value, ttl_s]))
