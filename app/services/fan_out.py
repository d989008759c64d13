"""Background work that follows a write: fan-out, indexing, retraction, backfill.

Every handler is idempotent, because a job is delivered at least once: a worker that dies
mid-job leaves it to be reclaimed and run again from the start.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from app.services import jobs
from app.services.celebrities import Celebrities, author_channel
from storage.records import SearchDocument, TimelineEntry, TimelineKind, TweetRecord
from storage.registry import Stores

FOLLOWER_BATCH = 1_000
BACKFILL_TWEETS = 50


class FanOut:
    def __init__(
        self,
        stores: Stores,
        timeline_max_length: int,
        celebrities: Celebrities,
        batch: int = FOLLOWER_BATCH,
    ) -> None:
        self._stores = stores
        self._max_length = timeline_max_length
        self._celebrities = celebrities
        self._batch = batch

    async def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        handler = {
            jobs.FAN_OUT: self._fan_out,
            jobs.INDEX: self._index,
            jobs.RETRACT: self._retract,
            jobs.BACKFILL: self._backfill,
            jobs.UNFOLLOW: self._unfollow,
        }[kind]
        await handler(payload)

    async def _tweet(self, tweet_id: int) -> TweetRecord | None:
        [tweet] = await self._stores.tweets.get_many([tweet_id])
        return tweet

    async def _fan_out(self, payload: Mapping[str, Any]) -> None:
        tweet = await self._tweet(int(payload["tweet_id"]))
        if tweet is None or tweet.is_deleted:
            return
        entry = _entry(tweet)
        await self._publish([tweet.user_id], "ADDED", tweet.id)
        if await self._celebrities.is_celebrity(tweet.user_id):
            # O(1) writes: followers merge this author in when they read.
            await self._publish_channel(author_channel(tweet.user_id), "ADDED", tweet.id)
            return
        async for followers in self._follower_batches(tweet.user_id):
            await self._stores.timelines.push(TimelineKind.HOME, followers, entry)
            await self._publish(followers, "ADDED", tweet.id)

    async def _index(self, payload: Mapping[str, Any]) -> None:
        tweet = await self._tweet(int(payload["tweet_id"]))
        if tweet is None:
            return
        if not searchable(tweet):
            await self._stores.search.remove([tweet.id])
            return
        [author] = await self._stores.users.get_many([tweet.user_id])
        await self._stores.search.index([search_document(tweet, bool(author and author.protected))])

    async def _retract(self, payload: Mapping[str, Any]) -> None:
        tweet = await self._tweet(int(payload["tweet_id"]))
        if tweet is None:
            return
        entry = [_entry(tweet)]
        await self._stores.search.remove([tweet.id])
        await self._stores.timelines.remove(TimelineKind.AUTHOR, [tweet.user_id], entry)
        await self._stores.timelines.remove(TimelineKind.HOME, [tweet.user_id], entry)
        if tweet.reply_to_tweet_id is not None:
            await self._stores.timelines.remove(
                TimelineKind.REPLIES, [tweet.reply_to_tweet_id], entry
            )
        await self._publish([tweet.user_id], "DELETED", tweet.id)
        if await self._celebrities.is_celebrity(tweet.user_id):
            # Reads already hide a deleted tweet; followers' copies from before the author
            # crossed the threshold age out of their timelines.
            await self._publish_channel(author_channel(tweet.user_id), "DELETED", tweet.id)
            return
        async for followers in self._follower_batches(tweet.user_id):
            await self._stores.timelines.remove(TimelineKind.HOME, followers, entry)
            await self._publish(followers, "DELETED", tweet.id)

    async def _backfill(self, payload: Mapping[str, Any]) -> None:
        follower_id, followee_id = int(payload["follower_id"]), int(payload["followee_id"])
        [still_following] = await self._stores.graph.is_following_many([(follower_id, followee_id)])
        if not still_following:
            return
        recent = await self._stores.timelines.page(
            TimelineKind.AUTHOR, followee_id, BACKFILL_TWEETS
        )
        for entry in recent:
            await self._stores.timelines.push(TimelineKind.HOME, [follower_id], entry)
        await self._stores.timelines.trim(TimelineKind.HOME, follower_id, self._max_length)

    async def _unfollow(self, payload: Mapping[str, Any]) -> None:
        follower_id, followee_id = int(payload["follower_id"]), int(payload["followee_id"])
        [following_again] = await self._stores.graph.is_following_many([(follower_id, followee_id)])
        if following_again:
            return
        authored = await self._stores.timelines.page(
            TimelineKind.AUTHOR, followee_id, self._max_length
        )
        await self._stores.timelines.remove(TimelineKind.HOME, [follower_id], authored)

    async def _follower_batches(self, user_id: int) -> AsyncIterator[list[int]]:
        after = None
        while True:
            edges = await self._stores.graph.followers_page(user_id, self._batch, after)
            if not edges:
                return
            yield [edge.other_id for edge in edges]
            if len(edges) < self._batch:
                return
            after = edges[-1].other_id

    async def _publish(self, user_ids: list[int], kind: str, tweet_id: int) -> None:
        for user_id in user_ids:
            await self._publish_channel(jobs.home_channel(user_id), kind, tweet_id)

    async def _publish_channel(self, channel: str, kind: str, tweet_id: int) -> None:
        data = json.dumps({"type": kind, "tweetId": tweet_id}).encode()
        await self._stores.events.publish(channel, data)


def _entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(created_at=tweet.created_at, tweet_id=tweet.id, author_id=tweet.user_id)


def searchable(tweet: TweetRecord) -> bool:
    """Deleted tweets and retweets (their original is indexed) stay out of search."""
    return not tweet.is_deleted and tweet.retweet_of_tweet_id is None


def search_document(tweet: TweetRecord, protected: bool) -> SearchDocument:
    return SearchDocument(
        tweet_id=tweet.id,
        author_id=tweet.user_id,
        text=tweet.text,
        hashtags=tweet.hashtags,
        mentions=tweet.mentions,
        language=tweet.language,
        created_at=tweet.created_at,
        protected=protected,
    )
