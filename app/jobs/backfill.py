"""backfill {"follower_id", "followee_id"}: a new follow sees the followee's recent tweets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import DELIVERY, JobDeps, Payload
from storage.records import TimelineKind

BACKFILL_TWEETS = 50


class Backfill:
    kind: ClassVar[str] = "backfill"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for payload in payloads:
            await self._backfill(int(payload["follower_id"]), int(payload["followee_id"]))

    async def _backfill(self, follower_id: int, followee_id: int) -> None:
        timelines = self._stores.timelines
        [following] = await self._stores.graph.is_following_many([(follower_id, followee_id)])
        if not following:
            return
        recent = await timelines.page(TimelineKind.AUTHOR, followee_id, BACKFILL_TWEETS)
        await timelines.push_many(TimelineKind.HOME, [(entry, [follower_id]) for entry in recent])
