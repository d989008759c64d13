"""RedisCachedFollowGraph: `following:{user_id}` sets (1 h) in front of the follow graph, so
"does the viewer follow X" is answered from Redis.

Follow and unfollow write the store first, then bump `following:{id}:v` and drop the set; a
read that misses rebuilds the set from the store and writes it only if the version did not
move meanwhile (storage/redis/versions.py), so a rebuild racing an unfollow can never leave
a stale "follows" behind (privacy rests on this answer). Any Redis error reads the store
instead.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.ports import FollowGraph
from storage.records import FollowEdge
from storage.redis.versions import Versions

TTL_S = 3600
MAX_CACHED = 5_000  # someone following more than this is asked of the store directly
_BUILT = "built"
log = logging.getLogger("chirp.graph_cache")

# Write the rebuilt set only if no follow or unfollow happened since the rebuild began.
_FILL = """
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisCachedFollowGraph:
    def __init__(self, graph: FollowGraph, client: Redis) -> None:
        self._graph = graph
        self._client = client
        self._fill = client.register_script(_FILL)
        self._versions = Versions(client, "following", TTL_S)

    async def follow(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        changed = await self._graph.follow(follower_id, followee_id, at)
        await self._versions.changed(follower_id)
        return changed

    async def follow_many(self, edges: Sequence[tuple[int, int]], at: datetime) -> list[bool]:
        changed = await self._graph.follow_many(edges, at)
        await self._versions.changed(*dict.fromkeys(follower for follower, _ in edges))
        return changed

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        changed = await self._graph.unfollow(follower_id, followee_id)
        await self._versions.changed(follower_id)
        return changed

    async def is_following_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        wanted: dict[int, set[int]] = defaultdict(set)
        for follower, followee in pairs:
            wanted[follower].add(followee)
        try:
            await self._versions.flush()
            follows = {f: await self._following(f, others) for f, others in wanted.items()}
        except RedisError:
            log.warning("graph cache unavailable; asking the store")
            return await self._graph.is_following_many(pairs)
        return [followee in follows[follower] for follower, followee in pairs]

    async def _following(self, follower_id: int, others: set[int]) -> set[int]:
        """Which of `others` follower_id follows."""
        ordered = sorted(others)
        key = self._versions.key(follower_id)
        answer: Any = await self._client.smismember(key, [_BUILT, *ordered])
        if answer[0]:
            return {other for other, yes in zip(ordered, answer[1:], strict=True) if yes}
        version = await self._versions.version(follower_id)
        everyone = await self._all_following(follower_id)
        if everyone is not None:
            args: list[Any] = [version, TTL_S, _BUILT, *everyone]
            await self._fill(keys=[key, self._versions.version_key(follower_id)], args=args)
            return others & set(everyone)
        found = await self._graph.is_following_many([(follower_id, o) for o in ordered])
        return {other for other, yes in zip(ordered, found, strict=True) if yes}

    async def _all_following(self, user_id: int) -> list[int] | None:
        everyone: list[int] = []
        after = None
        while edges := await self._graph.following_page(user_id, 1_000, after):
            everyone += [edge.other_id for edge in edges]
            if len(everyone) > MAX_CACHED:
                return None
            after = edges[-1].other_id
        return everyone

    async def followers_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._graph.followers_page(user_id, limit, after)

    async def following_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._graph.following_page(user_id, limit, after)

    async def request(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        return await self._graph.request(follower_id, followee_id, at)

    async def withdraw_request(self, follower_id: int, followee_id: int) -> bool:
        return await self._graph.withdraw_request(follower_id, followee_id)

    async def requests_page(
        self, followee_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._graph.requests_page(followee_id, limit, after)

    async def has_requested_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        return await self._graph.has_requested_many(pairs)
