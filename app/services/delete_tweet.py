"""DeleteTweet: soft delete (the design's 30-day grace), evict caches so every read path
hides it at once, fix the counts, and queue its removal from timelines and the index."""

from __future__ import annotations

from app.errors import Forbidden, NotFoundError
from app.jobs import Jobs
from app.jobs.notify import Notify
from app.jobs.retract import Retract
from app.readthrough import ReadThrough
from storage.records import TweetRecord, utcnow
from storage.registry import Stores


class DeleteTweet:
    def __init__(self, stores: Stores, jobs: Jobs, tweet_cache: ReadThrough[TweetRecord]) -> None:
        self._stores = stores
        self._jobs = jobs
        self._tweet_cache = tweet_cache

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        [tweet] = await self._stores.tweets.get_many([tweet_id])
        if tweet is None or tweet.is_deleted:
            raise NotFoundError("That tweet does not exist.")
        if tweet.user_id != viewer_id:
            raise Forbidden("Only its author can delete a tweet.")
        if tweet.retweet_of_tweet_id is not None:
            await self._stores.engagement.undo_retweet(viewer_id, tweet.retweet_of_tweet_id)
        await retract(self._stores, self._jobs, self._tweet_cache, tweet)
        return tweet


async def retract(
    stores: Stores, jobs: Jobs, tweet_cache: ReadThrough[TweetRecord], tweet: TweetRecord
) -> None:
    """Soft-delete a tweet (a retweet too) and everything that follows from it."""
    deleted = await stores.tweets.mark_deleted(tweet.id, utcnow())
    await tweet_cache.invalidate([tweet.id])
    if deleted:
        await stores.users.add_to_stats(tweet.user_id, {"tweets_count": -1})
        if tweet.reply_to_tweet_id is not None:
            await stores.engagement.add_counts(tweet.reply_to_tweet_id, replies=-1)
    await jobs.enqueue(Retract, {"tweet_id": tweet.id})
    await jobs.enqueue(Notify, {"kind": "tweet", "tweet_id": tweet.id})  # withdraws its own
