"""Follow, unfollow and follow requests. The edge is written at once (strong consistency);
counts follow it, and the home timeline is back-filled or cleaned by a queued job.

Following a protected account only asks: the account's owner approves or rejects the
request, and nothing of theirs reaches the asker before an approval."""

from __future__ import annotations

from enum import StrEnum

from app.errors import BadInput, NotFoundError
from app.jobs import Jobs
from app.jobs.backfill import Backfill
from app.jobs.index_users import IndexUsers
from app.jobs.notify import Notify
from app.jobs.unfollow import Unfollow
from app.policy import Gate
from app.readthrough import ReadThrough
from storage.records import UserRecord, ms_from_utc, utcnow
from storage.registry import Stores


class FollowState(StrEnum):
    FOLLOWING = "following"
    REQUESTED = "requested"
    NOT_FOLLOWING = "not_following"


class _FollowChange:
    def __init__(
        self, stores: Stores, jobs: Jobs, user_cache: ReadThrough[UserRecord], gate: Gate
    ) -> None:
        self._stores = stores
        self._jobs = jobs
        self._user_cache = user_cache
        self._gate = gate

    async def _target(self, viewer_id: int, user_id: int) -> UserRecord:
        if viewer_id == user_id:
            raise BadInput("You cannot follow yourself.", field="userId")
        [user] = await self._user_cache.get_many([user_id])
        if user is None:
            raise NotFoundError("That user does not exist.", field="userId")
        return user

    async def _notify(self, kind: str, actor_id: int, recipient_id: int) -> None:
        payload = {"kind": kind, "actor_id": actor_id, "recipient_id": recipient_id}
        await self._jobs.enqueue(Notify, {**payload, "at": ms_from_utc(utcnow())})

    async def _add_edge(self, follower_id: int, followee_id: int) -> None:
        if await self._stores.graph.follow(follower_id, followee_id, utcnow()):
            await self._stores.users.add_to_stats(follower_id, {"following_count": 1})
            await self._stores.users.add_to_stats(followee_id, {"followers_count": 1})
        await self._jobs.enqueue(Backfill, {"follower_id": follower_id, "followee_id": followee_id})
        await self._jobs.enqueue(IndexUsers, {"user_id": followee_id})  # its followers count


class FollowUser(_FollowChange):
    async def __call__(self, viewer_id: int, user_id: int) -> tuple[UserRecord, FollowState]:
        await self._target(viewer_id, user_id)
        user = await self._gate.account(viewer_id, user_id)  # no block either way
        [following] = await self._stores.graph.is_following_many([(viewer_id, user_id)])
        if user.protected and not following:
            await self._stores.graph.request(viewer_id, user_id, utcnow())
            await self._notify("follow_request", viewer_id, user_id)
            return user, FollowState.REQUESTED
        await self._add_edge(viewer_id, user_id)
        await self._notify("follow", viewer_id, user_id)  # a retry completes a lost one
        return user, FollowState.FOLLOWING


class UnfollowUser(_FollowChange):
    """Ends a follow, or withdraws a pending request."""

    async def __call__(self, viewer_id: int, user_id: int) -> tuple[UserRecord, FollowState]:
        user = await self._target(viewer_id, user_id)
        await self._stores.graph.withdraw_request(viewer_id, user_id)
        if await self._stores.graph.unfollow(viewer_id, user_id):
            await self._stores.users.add_to_stats(viewer_id, {"following_count": -1})
            await self._stores.users.add_to_stats(user_id, {"followers_count": -1})
            await self._jobs.enqueue(Unfollow, {"follower_id": viewer_id, "followee_id": user_id})
            await self._jobs.enqueue(IndexUsers, {"user_id": user_id})
        # What the follow or the request told is withdrawn (each job finds what is true).
        await self._notify("follow", viewer_id, user_id)
        await self._notify("follow_request", viewer_id, user_id)
        await self._notify("follow_request_approved", user_id, viewer_id)
        return user, FollowState.NOT_FOLLOWING


class AnswerFollowRequest(_FollowChange):
    """The protected account's owner approves or rejects a pending request."""

    async def __call__(self, owner_id: int, requester_id: int, approve: bool) -> UserRecord:
        requester = await self._target(owner_id, requester_id)
        if not await self._stores.graph.withdraw_request(requester_id, owner_id):
            raise NotFoundError("There is no pending request from that user.", field="userId")
        if approve:
            await self._gate.account(owner_id, requester_id)
            await self._add_edge(requester_id, owner_id)
            await self._notify("follow_request_approved", owner_id, requester_id)
        await self._notify("follow_request", requester_id, owner_id)  # answered: withdrawn
        return requester
