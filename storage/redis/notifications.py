"""RedisUnreadNotificationStore: each recipient's unread count in Redis
(`notifications:unread:{id}`, 1 h), in front of the notification store, which stays the
durable source of truth the count is rebuilt from.

Every write that changed something (a group added, grown or gone, the read marker moved)
goes to the store first and then invalidates the recipient's count through versions
(storage/redis/versions.py), so a rebuild racing a write never stores a stale count. Any
Redis error counts from the store instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.ports import NotificationStore, Position
from storage.records import NotificationChange, NotificationGroup
from storage.redis.versions import Versions

TTL_S = 3600
log = logging.getLogger("chirp.unread_cache")


class RedisUnreadNotificationStore:
    def __init__(self, store: NotificationStore, client: Redis) -> None:
        self._store = store
        self._client = client
        self._versions = Versions(client, "notifications:unread", TTL_S)

    async def apply(
        self, change: NotificationChange, window: timedelta, new_id: Callable[[], int]
    ) -> list[NotificationGroup]:
        changed = await self._store.apply(change, window, new_id)
        if changed:
            await self._versions.changed(change.recipient_id)
        return changed

    async def drop(self, recipient_id: int, base_key: str) -> list[NotificationGroup]:
        dropped = await self._store.drop(recipient_id, base_key)
        if dropped:
            await self._versions.changed(recipient_id)
        return dropped

    async def mark_read(self, recipient_id: int, position: Position) -> Position:
        marker = await self._store.mark_read(recipient_id, position)
        await self._versions.changed(recipient_id)
        return marker

    async def unread_count(self, recipient_id: int, cap: int) -> int:
        key = self._versions.key(recipient_id)
        try:
            await self._versions.flush()
            cached: Any = await self._client.get(key)
            if cached is not None:
                stored_cap, count = (int(part) for part in cached.split(b":"))
                if stored_cap == cap:
                    return count
            version = await self._versions.version(recipient_id)
        except RedisError:
            log.warning("unread count cache unavailable; counting in the store")
            return await self._store.unread_count(recipient_id, cap)
        count = await self._store.unread_count(recipient_id, cap)
        try:
            await self._versions.fill(recipient_id, version, f"{cap}:{count}", TTL_S)
        except RedisError:
            log.warning("unread count cache: could not store the count of %d", recipient_id)
        return count

    async def page(
        self,
        recipient_id: int,
        limit: int,
        after: Position | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[NotificationGroup]:
        return await self._store.page(recipient_id, limit, after, kinds)

    async def read_marker(self, recipient_id: int) -> Position | None:
        return await self._store.read_marker(recipient_id)
