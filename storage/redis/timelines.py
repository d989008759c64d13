"""RedisCachedTimelineStore: the newest home timeline entries of each user as a Redis sorted
set in front of the timeline store. Only this adapter knows the keys and layout.

`timeline:{user_id}` holds up to MAX_ENTRIES members `<tweet id, zero-padded>:<author id>`
scored by created_at in milliseconds (equal scores order by member, i.e. by tweet id, so the
set's order is the store's (created_at, tweet_id) order), plus a marker member that tells a
built cache from a missing one. Writes go to the store first and then to cached sets only
(trimmed to the newest entries); a miss rebuilds the set from the store; a page the set
cannot answer in full, and any Redis error, reads the store. Other timelines pass through.

The warm tier (`evict_older`, run by the lifecycle's "warm" step) drops the entries older
than the hot threshold from every cached set and leaves a floor marker scored at the
cutoff: a set with a floor no longer holds everything, so a page reaching past what is left
reads the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.ports import Deliveries, Position, TimelineStore
from storage.records import (
    HOME_TIMELINE_LENGTH,
    TimelineEntry,
    TimelineKind,
    ms_from_utc,
    utc_from_ms,
)

MAX_ENTRIES = HOME_TIMELINE_LENGTH  # the cache holds all a stored timeline keeps
TTL_S = 300  # the design's timeline cache: 5 minutes, renewed by every read
_MARKER = "~built"  # sorts after every digit: always the newest member, never an entry
_FLOOR = "~floor"  # scored at the last eviction's cutoff: older entries are in the store only
SCAN_COUNT = 500
TIE_SLACK = 8  # entries read past a page, for those on the cursor's millisecond it excludes
log = logging.getLogger("chirp.timeline_cache")

# Add the entry, keep the marker and the newest MAX_ENTRIES, and give a set this created a
# TTL. A set without the marker is not built yet: a read merges the store into it, so an
# entry pushed while a rebuild was reading the store is never lost.
# One call adds an entry to many owners' sets (KEYS): a fan-out costs the client a call per
# OWNERS_PER_CALL owners, not one per owner. (Many keys in one script: one Redis, not a
# cluster, whose scripts must keep to one slot.)
_PUSH = """
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[2])
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[3]) + 2))
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[4]) end
end
return 0
"""
OWNERS_PER_CALL = 500

# Drop the entries scored below ARGV[1] and put the floor there (never lower than it was);
# returns how many entries went (the floor itself is not one).
_EVICT = """
local floor = redis.call('ZSCORE', KEYS[1], ARGV[2])
local dropped = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local mark = tonumber(ARGV[1])
if floor then
  if tonumber(floor) < mark then dropped = dropped - 1 else mark = tonumber(floor) end
end
if dropped > 0 or floor then redis.call('ZADD', KEYS[1], mark, ARGV[2]) end
return dropped
"""


def _key(owner_id: int) -> str:
    return f"timeline:{owner_id}"


def _member(entry: TimelineEntry) -> str:
    return f"{entry.tweet_id:020d}:{entry.author_id}"


def _entry(member: bytes | str, score: float) -> TimelineEntry:
    text = member.decode() if isinstance(member, bytes) else member
    tweet_id, author_id = text.split(":")
    return TimelineEntry(utc_from_ms(int(score)), int(tweet_id), int(author_id))


class RedisCachedTimelineStore:
    def __init__(self, store: TimelineStore, client: Redis, max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self._client = client
        self._max = max_entries
        self._push_script = client.register_script(_PUSH)
        self._evict_script = client.register_script(_EVICT)

    async def push(
        self, kind: TimelineKind, owner_ids: Sequence[int], entry: TimelineEntry
    ) -> None:
        await self.push_many(kind, [(entry, owner_ids)])

    async def push_many(self, kind: TimelineKind, deliveries: Deliveries) -> None:
        await self._store.push_many(kind, deliveries)
        if kind is not TimelineKind.HOME:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for entry, owner_ids in deliveries:
                    args: list[Any] = [
                        ms_from_utc(entry.created_at),
                        _member(entry),
                        self._max,
                        TTL_S,
                    ]
                    keys = [_key(owner_id) for owner_id in dict.fromkeys(owner_ids)]
                    for start in range(0, len(keys), OWNERS_PER_CALL):
                        chunk = keys[start : start + OWNERS_PER_CALL]
                        await self._push_script(keys=chunk, args=args, client=pipe)
                await pipe.execute()
        except RedisError:
            await self._forget([owner for _, owner_ids in deliveries for owner in owner_ids])

    async def remove(
        self, kind: TimelineKind, owner_ids: Sequence[int], entries: Sequence[TimelineEntry]
    ) -> None:
        await self._store.remove(kind, owner_ids, entries)
        if kind is not TimelineKind.HOME or not entries:
            return
        members = [_member(entry) for entry in entries]
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for owner_id in owner_ids:
                    pipe.zrem(_key(owner_id), *members)
                await pipe.execute()
        except RedisError:
            await self._forget(owner_ids)

    async def pages(
        self, timelines: Sequence[tuple[TimelineKind, int]], limit: int, after: Position | None
    ) -> list[list[TimelineEntry]]:
        return list(
            await asyncio.gather(
                *(self.page(kind, owner, limit, after) for kind, owner in timelines)
            )
        )

    async def trim(self, kind: TimelineKind, owner_id: int, keep: int) -> None:
        await self._store.trim(kind, owner_id, keep)
        if kind is TimelineKind.HOME:
            await self._forget([owner_id])  # rebuilt from the trimmed store on the next read

    async def evict_older(self, kind: TimelineKind, before: datetime) -> int:
        if kind is not TimelineKind.HOME:
            return await self._store.evict_older(kind, before)
        args: list[Any] = [ms_from_utc(before), _FLOOR]
        dropped = 0
        cursor = 0
        try:
            while True:
                cursor, keys = await self._client.scan(cursor, match="timeline:*", count=SCAN_COUNT)
                if keys:
                    async with self._client.pipeline(transaction=False) as pipe:
                        for key in keys:
                            await self._evict_script(keys=[key], args=args, client=pipe)
                        dropped += sum(int(n) for n in await pipe.execute())
                if cursor == 0:
                    return dropped
        except RedisError:
            log.warning("timeline cache unavailable; its sets expire in %d s anyway", TTL_S)
            return dropped

    async def page(
        self, kind: TimelineKind, owner_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        if kind is not TimelineKind.HOME or limit <= 0:
            return await self._store.page(kind, owner_id, limit, after)
        try:
            found = await self._window(owner_id, limit, after)
        except RedisError:
            log.warning("timeline cache unavailable; reading the store")
            return await self._store.page(kind, owner_id, limit, after)
        return found if found is not None else await self._store.page(kind, owner_id, limit, after)

    async def _window(
        self, owner_id: int, limit: int, after: Position | None
    ) -> list[TimelineEntry] | None:
        """The page from the set, reading only the entries it needs (not the whole set);
        None when the set cannot answer it in full (older than the set holds)."""
        key = _key(owner_id)
        top: float | str = "+inf" if after is None else ms_from_utc(after[0])
        wanted = limit + TIE_SLACK
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.zscore(key, _MARKER)
            pipe.zscore(key, _FLOOR)
            pipe.zcard(key)
            pipe.zrevrangebyscore(key, top, "-inf", start=0, num=wanted, withscores=True)
            pipe.expire(key, TTL_S)
            marker, floor, size, window, _ = await pipe.execute()
        if marker is None:  # never built, or built only by pushes
            cached = await self._rebuild(owner_id)
            entries = [e for e in cached if after is None or e.position < after]
            floored = floor is not None
            held = len(cached)
        else:
            entries = [
                _entry(member, score)
                for member, score in window
                if _text(member) not in (_MARKER, _FLOOR)
            ]
            entries = [e for e in entries if after is None or e.position < after]
            floored = floor is not None
            held = int(size) - 1 - (1 if floored else 0)
            if len(entries) < limit and len(window) == wanted:
                return None  # many ties on one millisecond: let the store order them
        if len(entries) >= limit or (held < self._max and not floored):
            return entries[:limit]  # the set holds everything this page needs
        return None

    async def _rebuild(self, owner_id: int) -> list[TimelineEntry]:
        """Merge the store's newest entries into the set (never replace: pushes that landed
        meanwhile stay), mark it built, and read it back."""
        entries = await self._store.page(TimelineKind.HOME, owner_id, self._max)
        key = _key(owner_id)
        mapping: dict[str, float] = {_member(e): ms_from_utc(e.created_at) for e in entries}
        mapping[_MARKER] = float("inf")
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, mapping)
            pipe.zremrangebyrank(key, 0, -(self._max + 2))
            pipe.expire(key, TTL_S)
            pipe.zrevrange(key, 0, -1, withscores=True)
            found: Any = (await pipe.execute())[-1]
        return [_entry(m, score) for m, score in found if _text(m) not in (_MARKER, _FLOOR)]

    async def _forget(self, owner_ids: Sequence[int]) -> None:
        try:
            await self._client.delete(*[_key(owner_id) for owner_id in owner_ids])
        except RedisError:
            log.error(
                "timeline cache: could not drop %d sets; they expire in %d s", len(owner_ids), TTL_S
            )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
