"""Likes and retweets. The engagement store counts a row only when it is new, so a retried
or concurrent mutation never counts twice."""

from __future__ import annotations

from datetime import datetime

from app.archive import ColdArchive
from app.errors import Forbidden
from app.ids import SnowflakeGenerator, id_timestamp_ms
from app.jobs import Jobs
from app.jobs.notify import Notify
from app.policy import Gate
from app.readthrough import ReadThrough
from app.services.delete_tweet import retract
from app.services.post_tweet import record_authored
from storage.records import TweetRecord, UserRecord, ms_from_utc, utc_from_ms, utcnow
from storage.registry import Stores


class _Engagement:
    def __init__(
        self, stores: Stores, gate: Gate, tweet_cache: ReadThrough[TweetRecord], jobs: Jobs
    ) -> None:
        self._stores = stores
        self._gate = gate
        self._tweet_cache = tweet_cache
        self._jobs = jobs

    async def _visible(self, viewer_id: int, tweet_id: int) -> tuple[TweetRecord, UserRecord]:
        """The tweet a user acts on, if the policy lets them; a retweet stands for its
        original."""
        return await self._gate.visible_tweet(viewer_id, tweet_id, original=True)

    async def _notify(self, kind: str, viewer_id: int, tweet_id: int, at: datetime) -> None:
        """The author's notification follows the like as it now stands: queued whether or
        not this call changed anything, so a retry completes a request that died before."""
        payload = {"kind": kind, "actor_id": viewer_id, "tweet_id": tweet_id, "at": ms_from_utc(at)}
        await self._jobs.enqueue(Notify, payload)


class LikeTweet(_Engagement):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        at = utcnow()
        if await self._stores.engagement.like(viewer_id, tweet.id, at):
            await self._stores.users.add_to_stats(viewer_id, {"likes_count": 1})
        await self._notify("like", viewer_id, tweet.id, at)
        return tweet


class UnlikeTweet(_Engagement):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        if await self._stores.engagement.unlike(viewer_id, tweet.id):
            await self._stores.users.add_to_stats(viewer_id, {"likes_count": -1})
        await self._notify("like", viewer_id, tweet.id, utcnow())
        return tweet


class Retweet(_Engagement):
    def __init__(
        self,
        stores: Stores,
        gate: Gate,
        tweet_cache: ReadThrough[TweetRecord],
        jobs: Jobs,
        ids: SnowflakeGenerator,
    ) -> None:
        super().__init__(stores, gate, tweet_cache, jobs)
        self._ids = ids

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, author = await self._visible(viewer_id, tweet_id)
        if author.protected:
            raise Forbidden("Tweets of a protected account cannot be retweeted.")
        retweet_id = self._ids.next_id()
        at = utc_from_ms(id_timestamp_ms(retweet_id))
        if not await self._stores.engagement.retweet(viewer_id, tweet.id, retweet_id, at):
            await self._notify("retweet", viewer_id, tweet.id, at)  # a retry completes it
            return tweet  # already retweeted: a retry changes nothing else
        retweet = TweetRecord(
            id=retweet_id,
            user_id=viewer_id,
            text="",
            created_at=at,
            updated_at=at,
            retweet_of_tweet_id=tweet.id,
        )
        await self._stores.tweets.create(retweet)
        await self._stores.users.add_to_stats(viewer_id, {"tweets_count": 1})
        await record_authored(self._stores, self._jobs, retweet)
        return tweet


class UndoRetweet(_Engagement):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        retweet_id = await self._stores.engagement.undo_retweet(viewer_id, tweet.id)
        if retweet_id is not None:
            archive = ColdArchive(self._stores)
            await archive.thaw([retweet_id])  # a retweet in the cold tier is undone here too
            [retweet] = await self._stores.tweets.get_many([retweet_id])
            if retweet is not None:
                async with archive.holding(retweet):
                    await retract(self._stores, self._jobs, self._tweet_cache, retweet)
        await self._notify("retweet", viewer_id, tweet.id, utcnow())
        return tweet
