"""retract {"tweet_id"}: take a deleted tweet out of timelines (mentions and the quoted
tweet's quotes too) and the index, and tell live subscribers. Reads already hide it from
the moment it is deleted; this tidies the stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import DELIVERY, JobDeps, Payload, follower_batches, tweets_of
from app.jobs.fan_out import mentioned_others, timeline_entry
from app.live import LiveEvent, LiveEventType
from storage.records import TimelineKind, TweetRecord
from storage.registry import Stores


async def out_of_authors_lists(stores: Stores, tweet: TweetRecord) -> None:
    """The tweet out of what its author's side wrote it into: the author's own timeline and
    home timeline, the parent's replies, the mentioned users' mentions and the quoted
    tweet's quotes (followers' home timelines are the caller's: they are many)."""
    timelines = stores.timelines
    entry = [timeline_entry(tweet)]
    await timelines.remove(TimelineKind.AUTHOR, [tweet.user_id], entry)
    await timelines.remove(TimelineKind.HOME, [tweet.user_id], entry)
    if tweet.reply_to_tweet_id is not None:
        await timelines.remove(TimelineKind.REPLIES, [tweet.reply_to_tweet_id], entry)
    if mentioned := mentioned_others(tweet):
        await timelines.remove(TimelineKind.MENTIONS, mentioned, entry)
    if tweet.quote_tweet_id is not None:
        await stores.engagement.remove_quote(tweet.quote_tweet_id, entry[0])


class Retract:
    kind: ClassVar[str] = "retract"
    stream: ClassVar[str] = DELIVERY  # live clients drop the tweet as soon as this runs
    max_batch: ClassVar[int] = 1

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._live = deps.live
        self._batch = deps.fan_out_batch

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for tweet in await tweets_of(self._stores, payloads):
            await self._retract(tweet)

    async def _retract(self, tweet: TweetRecord) -> None:
        timelines = self._stores.timelines
        entry = [timeline_entry(tweet)]
        event = LiveEvent(LiveEventType.DELETED, tweet.id)
        await self._stores.search.remove([tweet.id])
        await out_of_authors_lists(self._stores, tweet)
        await self._live.to_home_timelines([tweet.user_id], event)
        if await self._celebrities.is_celebrity(tweet.user_id):
            # Followers' copies from before the author crossed the threshold age out.
            await self._live.to_author_followers(tweet.user_id, event)
            return
        async for followers in follower_batches(self._stores.graph, tweet.user_id, self._batch):
            await timelines.remove(TimelineKind.HOME, followers, entry)
            await self._live.to_home_timelines(followers, event)
