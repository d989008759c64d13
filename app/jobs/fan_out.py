"""fan_out {"tweet_id"}: write a new tweet into its followers' stored home timelines (live
subscribers hear of it through the `announce` job). Celebrities' tweets are not fanned out:
readers merge them in (hybrid fan-out)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import DELIVERY, JobDeps, Payload, follower_batches, tweets_of
from storage.records import TimelineEntry, TimelineKind, TweetRecord

BATCHES_IN_FLIGHT = 4


class FanOut:
    kind: ClassVar[str] = "fan_out"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._batch = deps.fan_out_batch

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for tweet in await tweets_of(self._stores, payloads):
            if not tweet.is_deleted:
                await self._deliver(tweet)

    async def _deliver(self, tweet: TweetRecord) -> None:
        if await self._celebrities.is_celebrity(tweet.user_id):
            return  # O(1) writes: followers merge this author in when they read
        entry = timeline_entry(tweet)
        # Batches overlap: the next page of followers is read while earlier ones are written.
        in_flight = asyncio.Semaphore(BATCHES_IN_FLIGHT)
        async with asyncio.TaskGroup() as batches:
            async for followers in follower_batches(self._stores.graph, tweet.user_id, self._batch):
                await in_flight.acquire()
                batches.create_task(self._push(followers, entry, in_flight))

    async def _push(
        self,
        followers: list[int],
        entry: TimelineEntry,
        in_flight: asyncio.Semaphore,
    ) -> None:
        try:
            await self._stores.timelines.push(TimelineKind.HOME, followers, entry)
        finally:
            in_flight.release()


def timeline_entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(created_at=tweet.created_at, tweet_id=tweet.id, author_id=tweet.user_id)
