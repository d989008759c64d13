"""DeleteTweet: soft delete (the design's 30-day grace), evict caches so every read path
hides it at once, fix the counts, and queue its removal from timelines and the index.

Before the tweet is hidden, a TWEET lifecycle entry is scheduled, due `grace_s` later: until
then the author lists it (`me.deletedTweets`) and may restore it (app/services/
deleted_tweets.py); once due, the lifecycle's purge removes it from every store
(app/lifecycle/tweets.py). The entry comes first, so a deletion that dies midway leaves at
worst an entry of a live tweet, which the purge skips. A deleted retweet is scheduled too
(purged after the grace, with the rest) but never listed nor restorable: undoing a retweet
is not something to bring back. Moderator removals (`retract` alone) are not scheduled:
neither listed nor restorable, and kept as the moderation log's evidence.
"""

from __future__ import annotations

from datetime import timedelta

from app.archive import ColdArchive
from app.errors import Forbidden, NotFoundError
from app.jobs import Jobs
from app.jobs.notify import Notify
from app.jobs.retract import Retract
from app.readthrough import ReadThrough
from storage.records import LifecycleEntry, LifecycleKind, TweetRecord, utcnow
from storage.registry import Stores


class DeleteTweet:
    def __init__(
        self,
        stores: Stores,
        jobs: Jobs,
        tweet_cache: ReadThrough[TweetRecord],
        grace_s: float,
    ) -> None:
        self._stores = stores
        self._jobs = jobs
        self._tweet_cache = tweet_cache
        self._grace = timedelta(seconds=grace_s)
        self._archive = ColdArchive(stores)

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        [tweet] = await self._stores.tweets.get_many([tweet_id])
        if tweet is None:
            tweet = await self._thawed(viewer_id, tweet_id)
        if tweet is None or tweet.is_deleted:
            raise NotFoundError("That tweet does not exist.")
        if tweet.user_id != viewer_id:
            raise Forbidden("Only its author can delete a tweet.")
        await self._schedule_purge(tweet)
        if tweet.retweet_of_tweet_id is not None:
            await self._stores.engagement.undo_retweet(viewer_id, tweet.retweet_of_tweet_id)
        async with self._archive.holding(tweet):
            await retract(self._stores, self._jobs, self._tweet_cache, tweet)
        return tweet

    async def _thawed(self, viewer_id: int, tweet_id: int) -> TweetRecord | None:
        """An archived tweet (the cold tier, app/archive.py) is put back into the primary
        tables first, to be deleted, restored and purged there like any other; only its
        author's deletion thaws it."""
        [archived] = await self._archive.get_many([tweet_id])
        if archived is None or archived.user_id != viewer_id:
            return archived
        thawed = await self._archive.thaw([tweet_id])
        return thawed[0] if thawed else None

    async def _schedule_purge(self, tweet: TweetRecord) -> None:
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what cursors hold
        entry = LifecycleEntry(
            kind=LifecycleKind.TWEET,
            subject_id=tweet.id,
            owner_id=tweet.user_id,
            since=now,
            due_at=now + self._grace,
        )
        await self._stores.lifecycle.schedule(entry)


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
