"""unfollow {"follower_id", "followee_id"}: remove the followee's tweets from the former
follower's stored home timeline (reads already hide them from the moment of the unfollow)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import CLEANUP, JobDeps, Payload
from storage.records import HOME_TIMELINE_LENGTH, TimelineKind


class Unfollow:
    kind: ClassVar[str] = "unfollow"
    stream: ClassVar[str] = CLEANUP
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for payload in payloads:
            await self._clean(int(payload["follower_id"]), int(payload["followee_id"]))

    async def _clean(self, follower_id: int, followee_id: int) -> None:
        timelines = self._stores.timelines
        [following_again] = await self._stores.graph.is_following_many([(follower_id, followee_id)])
        if following_again:
            return
        # A home timeline holds at most HOME_TIMELINE_LENGTH entries, so none of the
        # followee's older tweets can be in it.
        authored = await timelines.page(TimelineKind.AUTHOR, followee_id, HOME_TIMELINE_LENGTH)
        await timelines.remove(TimelineKind.HOME, [follower_id], authored)
