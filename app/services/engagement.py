"""Likes and retweets. The engagement store counts a row only when it is new, so a retried
or concurrent mutation never counts twice."""

from __future__ import annotations

from app.errors import Forbidden, NotFoundError
from app.ids import SnowflakeGenerator, id_timestamp_ms
from app.jobs import Jobs
from app.privacy import may_see_author, needs_follow_check
from app.readthrough import ReadThrough
from app.services.delete_tweet import retract
from app.services.post_tweet import record_authored
from storage.records import TweetRecord, UserRecord, utc_from_ms, utcnow
from storage.registry import Stores


class _Engagement:
    def __init__(
        self,
        stores: Stores,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
    ) -> None:
        self._stores = stores
        self._tweet_cache = tweet_cache
        self._user_cache = user_cache

    async def _visible(self, viewer_id: int, tweet_id: int) -> tuple[TweetRecord, UserRecord]:
        """The tweet a user acts on, if they may see it; a retweet stands for its original."""
        [tweet] = await self._tweet_cache.get_many([tweet_id])
        if tweet is not None and tweet.retweet_of_tweet_id is not None:
            [tweet] = await self._tweet_cache.get_many([tweet.retweet_of_tweet_id])
        if tweet is None or tweet.is_deleted:
            raise NotFoundError("That tweet does not exist.")
        [author] = await self._user_cache.get_many([tweet.user_id])
        if author is None:
            raise NotFoundError("That tweet does not exist.")
        follows = False
        if needs_follow_check(viewer_id, author):
            [follows] = await self._stores.graph.is_following_many([(viewer_id, author.id)])
        if not may_see_author(viewer_id, author, follows):
            raise NotFoundError("That tweet does not exist.")
        return tweet, author


class LikeTweet(_Engagement):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        if await self._stores.engagement.like(viewer_id, tweet.id, utcnow()):
            await self._stores.users.add_to_stats(viewer_id, {"likes_count": 1})
        return tweet


class UnlikeTweet(_Engagement):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        if await self._stores.engagement.unlike(viewer_id, tweet.id):
            await self._stores.users.add_to_stats(viewer_id, {"likes_count": -1})
        return tweet


class _Tweeting(_Engagement):
    """Engagement that writes or retracts a tweet of its own (a retweet), with its jobs."""

    def __init__(
        self,
        stores: Stores,
        jobs: Jobs,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
    ) -> None:
        super().__init__(stores, tweet_cache, user_cache)
        self._jobs = jobs


class Retweet(_Tweeting):
    def __init__(
        self,
        stores: Stores,
        jobs: Jobs,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
        ids: SnowflakeGenerator,
    ) -> None:
        super().__init__(stores, jobs, tweet_cache, user_cache)
        self._ids = ids

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, author = await self._visible(viewer_id, tweet_id)
        if author.protected:
            raise Forbidden("Tweets of a protected account cannot be retweeted.")
        retweet_id = self._ids.next_id()
        at = utc_from_ms(id_timestamp_ms(retweet_id))
        if not await self._stores.engagement.retweet(viewer_id, tweet.id, retweet_id, at):
            return tweet  # already retweeted: a retry changes nothing
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


class UndoRetweet(_Tweeting):
    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, _ = await self._visible(viewer_id, tweet_id)
        retweet_id = await self._stores.engagement.undo_retweet(viewer_id, tweet.id)
        if retweet_id is not None:
            [retweet] = await self._stores.tweets.get_many([retweet_id])
            if retweet is not None:
                await retract(self._stores, self._jobs, self._tweet_cache, retweet)
        return tweet
