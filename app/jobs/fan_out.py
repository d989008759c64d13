"""fan_out {"tweet_id"}: deliver a new tweet to its followers' home timelines and live
subscribers. Celebrities' tweets are not fanned out: readers merge them in (hybrid fan-out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import DELIVERY, JobDeps, Payload, follower_batches
from app.live import LiveEvent, LiveEventType
from storage.records import TimelineEntry, TimelineKind, TweetRecord


class FanOut:
    kind: ClassVar[str] = "fan_out"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._live = deps.live
        self._batch = deps.fan_out_batch

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for payload in payloads:
            [tweet] = await self._stores.tweets.get_many([int(payload["tweet_id"])])
            if tweet is not None and not tweet.is_deleted:
                await self._deliver(tweet)

    async def _deliver(self, tweet: TweetRecord) -> None:
        event = LiveEvent(LiveEventType.ADDED, tweet.id)
        await self._live.to_home_timelines([tweet.user_id], event)
        if await self._celebrities.is_celebrity(tweet.user_id):
            # O(1) writes: followers merge this author in when they read.
            await self._live.to_author_followers(tweet.user_id, event)
            return
        entry = timeline_entry(tweet)
        async for followers in follower_batches(self._stores.graph, tweet.user_id, self._batch):
            await self._stores.timelines.push(TimelineKind.HOME, followers, entry)
            await self._live.to_home_timelines(followers, event)


def timeline_entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(created_at=tweet.created_at, tweet_id=tweet.id, author_id=tweet.user_id)
