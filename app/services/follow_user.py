"""Follow and unfollow: the edge is written at once (strong consistency); counts follow it,
and the home timeline is back-filled or cleaned by a queued job."""

from __future__ import annotations

from app.errors import BadInput, NotFoundError
from app.readthrough import ReadThrough
from app.services import jobs
from storage.records import UserRecord, utcnow
from storage.registry import Stores


class _FollowChange:
    def __init__(self, stores: Stores, user_cache: ReadThrough[UserRecord]) -> None:
        self._stores = stores
        self._user_cache = user_cache

    async def _target(self, viewer_id: int, user_id: int) -> UserRecord:
        if viewer_id == user_id:
            raise BadInput("You cannot follow yourself.", field="userId")
        [user] = await self._user_cache.get_many([user_id])
        if user is None:
            raise NotFoundError("That user does not exist.", field="userId")
        return user


class FollowUser(_FollowChange):
    async def __call__(self, viewer_id: int, user_id: int) -> UserRecord:
        user = await self._target(viewer_id, user_id)
        if await self._stores.graph.follow(viewer_id, user_id, utcnow()):
            await self._stores.users.add_to_stats(viewer_id, {"following_count": 1})
            await self._stores.users.add_to_stats(user_id, {"followers_count": 1})
        await self._stores.queue.enqueue(
            jobs.BACKFILL, {"follower_id": viewer_id, "followee_id": user_id}
        )
        return user


class UnfollowUser(_FollowChange):
    async def __call__(self, viewer_id: int, user_id: int) -> UserRecord:
        user = await self._target(viewer_id, user_id)
        if await self._stores.graph.unfollow(viewer_id, user_id):
            await self._stores.users.add_to_stats(viewer_id, {"following_count": -1})
            await self._stores.users.add_to_stats(user_id, {"followers_count": -1})
            await self._stores.queue.enqueue(
                jobs.UNFOLLOW, {"follower_id": viewer_id, "followee_id": user_id}
            )
        return user
