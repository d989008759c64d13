"""Versioned invalidation for values cached in Redis under `{prefix}:{id}`, shared by the
layers whose answers privacy rests on (`following:{id}`, `relations:{id}`).

A writer changes the store first, then `changed(ids)`: INCR `{prefix}:{id}:v` and DEL the
value, in one transaction. A reader that misses notes the version (`version(id)`) before
rebuilding from the store, and writes the rebuilt value only if the version has not moved
since (each layer's fill script compares it), so a rebuild racing a write can never leave a
stale value behind. Invalidations Redis missed are remembered and sent before any read
(`flush`), so no read uses the cache until they are.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("chirp.cache_versions")


class Versions:
    def __init__(self, client: Redis, prefix: str, ttl_s: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._unsent: set[int] = set()

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
