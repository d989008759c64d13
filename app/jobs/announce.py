"""announce {"tweet_id"}: tell live subscribers of the author's followers about a new tweet.

Live delivery has a job and a stream of its own, so it never waits for the durable
timeline writes of fan-out (which take seconds for an author with many followers): a
subscriber hears of the tweet while its timeline row may still be on its way (the design
allows 5 s for that), and loads the tweet itself, not the timeline row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import LIVE, JobDeps, Payload, follower_batches, tweets_of
from app.live import LiveEvent, LiveEventType
from storage.records import TweetRecord


class Announce:
    kind: ClassVar[str] = "announce"
    stream: ClassVar[str] = LIVE
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._live = deps.live
        self._batch = deps.fan_out_batch

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for tweet in await tweets_of(self._stores, payloads):
            if not tweet.is_deleted:
                await self._announce(tweet)

    async def _announce(self, tweet: TweetRecord) -> None:
        event = LiveEvent(LiveEventType.ADDED, tweet.id)
        await self._live.to_home_timelines([tweet.user_id], event)
        if await self._celebrities.is_celebrity(tweet.user_id):
            await self._live.to_author_followers(tweet.user_id, event)
            return
        async for followers in follower_batches(self._stores.graph, tweet.user_id, self._batch):
            await self._live.to_home_timelines(followers, event)
