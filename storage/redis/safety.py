"""RedisCachedSafetyStore: `relations:{user_id}` values (1 h) in front of the safety store,
so the policy's one read of a viewer's relations per request is answered from Redis.

Writes go to the store first, then bump `relations:{id}:v` and drop the value of every user
whose relations they changed: a block or unblock changes two (the blocker's `blocking`, the
blocked account's `blocked_by`), a mute or muted word only the muter's. A read that misses
rebuilds the value from the store and writes it only if the version did not move meanwhile,
so a rebuild racing a block can never leave a value without it (privacy rests on this
answer). Cached mutes and muted words keep their expiry: the value lives no longer than the
earliest of them, and every read drops those expired by its `now`. Any Redis error reads
the store instead.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.ports import SafetyStore
from storage.records import (
    MutedWord,
    RelationEdge,
    Relations,
    ms_from_utc,
    utc_from_ms,
    utcnow,
)
from storage.redis.versions import Versions

TTL_S = 3600
MUTES_PER_READ = 1_000
log = logging.getLogger("chirp.safety_cache")


class RedisCachedSafetyStore:
    def __init__(self, store: SafetyStore, client: Redis) -> None:
        self._store = store
        self._client = client
        self._versions = Versions(client, "relations", TTL_S)

    async def block(self, blocker_id: int, blocked_id: int, at: datetime) -> bool:
        changed = await self._store.block(blocker_id, blocked_id, at)
        await self._versions.changed(blocker_id, blocked_id)
        return changed

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        changed = await self._store.unblock(blocker_id, blocked_id)
        await self._versions.changed(blocker_id, blocked_id)
        return changed

    async def mute(
        self, muter_id: int, muted_id: int, at: datetime, expires_at: datetime | None
    ) -> bool:
        changed = await self._store.mute(muter_id, muted_id, at, expires_at)
        await self._versions.changed(muter_id)
        return changed

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        changed = await self._store.unmute(muter_id, muted_id)
        await self._versions.changed(muter_id)
        return changed

    async def add_muted_word(
        self, user_id: int, word: str, at: datetime, expires_at: datetime | None
    ) -> bool:
        changed = await self._store.add_muted_word(user_id, word, at, expires_at)
        await self._versions.changed(user_id)
        return changed

    async def remove_muted_word(self, user_id: int, word: str) -> bool:
        changed = await self._store.remove_muted_word(user_id, word)
        await self._versions.changed(user_id)
        return changed

    async def relations(self, user_id: int, now: datetime) -> Relations:
        key = self._versions.key(user_id)
        try:
            await self._versions.flush()
            cached: Any = await self._client.get(key)
            if cached is not None:
                return _decode(cached, now)
            version = await self._versions.version(user_id)
        except RedisError:
            log.warning("safety cache unavailable; asking the store")
            return await self._store.relations(user_id, now)
        value, ttl_s = await self._build(user_id, now)
        try:
            await self._versions.fill(user_id, version, value, ttl_s)
        except RedisError:
            log.warning("safety cache: could not store the relations of %d", user_id)
        return _decode(value, now)

    async def _build(self, user_id: int, now: datetime) -> tuple[bytes, int]:
        """The encoded relations, with each mute's expiry (Relations keeps only the ids),
        and how long they may be cached. Read as of the clock when `now` is later: the value
        also answers later reads, which must still see what `now` has already expired."""
        moment = min(now, utcnow())
        relations = await self._store.relations(user_id, moment)
        mutes = await self._all_mutes(user_id, moment) if relations.muting else []
        expiries = [edge.expires_at for edge in mutes] + [
            word.expires_at for word in relations.muted_words
        ]
        ttl_s = TTL_S
        if earliest := min(filter(None, expiries), default=None):
            ttl_s = max(1, min(ttl_s, int((earliest - utcnow()).total_seconds())))
        return _encode(relations, mutes), ttl_s

    async def _all_mutes(self, user_id: int, now: datetime) -> list[RelationEdge]:
        mutes: list[RelationEdge] = []
        after = None
        while page := await self._store.mutes_page(user_id, MUTES_PER_READ, after, now):
            mutes += page
            after = page[-1].other_id
        return mutes

    async def blocks_page(
        self, blocker_id: int, limit: int, after: int | None = None
    ) -> list[RelationEdge]:
        return await self._store.blocks_page(blocker_id, limit, after)

    async def mutes_page(
        self, muter_id: int, limit: int, after: int | None = None, now: datetime | None = None
    ) -> list[RelationEdge]:
        return await self._store.mutes_page(muter_id, limit, after, now)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else ms_from_utc(moment)


def _encode(relations: Relations, mutes: list[RelationEdge]) -> bytes:
    value = {
        "blocking": sorted(relations.blocking),
        "blocked_by": sorted(relations.blocked_by),
        "muting": [[edge.other_id, _ms(edge.expires_at)] for edge in mutes],
        "muted_words": [
            [word.word, ms_from_utc(word.created_at), _ms(word.expires_at)]
            for word in relations.muted_words
        ],
    }
    return json.dumps(value, separators=(",", ":")).encode()


def _decode(data: bytes, now: datetime) -> Relations:
    value = json.loads(data)
    now_ms = ms_from_utc(now)
    return Relations(
        blocking=frozenset(value["blocking"]),
        blocked_by=frozenset(value["blocked_by"]),
        muting=frozenset(
            muted for muted, expires in value["muting"] if expires is None or expires > now_ms
        ),
        muted_words=tuple(
            MutedWord(word, utc_from_ms(created), None if expires is None else utc_from_ms(expires))
            for word, created, expires in value["muted_words"]
            if expires is None or expires > now_ms
        ),
    )
