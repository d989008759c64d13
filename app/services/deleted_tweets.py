"""A deleted tweet's grace period, as its author sees it: the list of their deleted tweets
(`me.deletedTweets`) and `restoreTweet`.

Both read the lifecycle schedule (the entries DeleteTweet writes) and check the truth: a
listed tweet still exists and is deleted, and it is no retweet (a retweet deleted is never
listed nor restorable). Restoring is for the author only, within the grace:

- unknown tweet, a tweet not deleted, or one deleted without an entry (a moderator's removal,
  an undone retweet): NOT_FOUND;
- someone else's tweet: FORBIDDEN (deleted or not: restoring is its author's business);
- the grace is over (due_at at or before now), even if not purged yet: GRACE_PERIOD_OVER.

A restore brings back what the delete took: the tweet, its author's tweets_count and its
parent's replies count (only for the call that restored it), the author's side and the
followers' home timelines with the entry's original created_at (so it lands where it was),
replies, mentions, quotes, the search index, and caches; likes and retweets were never
removed by the delete. The entry is cancelled last: a restore that dies midway is completed
by a retry, and the purge skips a live tweet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.errors import Forbidden, NotFoundError, UserError
from app.jobs import Jobs
from app.readthrough import ReadThrough
from app.services.post_tweet import record_authored
from storage.records import LifecycleEntry, LifecycleKind, TweetRecord, utcnow
from storage.registry import Stores


class GracePeriodOver(UserError):
    code = "GRACE_PERIOD_OVER"


@dataclass(frozen=True)
class DeletedTweet:
    tweet: TweetRecord
    deleted_at: datetime
    purge_at: datetime

    @property
    def position(self) -> tuple[datetime, int]:
        return (self.deleted_at, self.tweet.id)


@dataclass(frozen=True)
class DeletedTweetsPage:
    items: list[DeletedTweet]
    has_next: bool


class DeletedTweets:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def __call__(
        self, owner_id: int, limit: int, after: tuple[datetime, int] | None = None
    ) -> DeletedTweetsPage:
        """The owner's deleted tweets still in their grace, newest deletion first."""
        now = utcnow()
        items: list[DeletedTweet] = []
        while True:  # entries not listed (a retweet, a restored tweet) are read past
            entries = await self._stores.lifecycle.owned(
                LifecycleKind.TWEET, owner_id, limit + 1, after
            )
            tweets = await self._stores.tweets.get_many([e.subject_id for e in entries])
            for entry, tweet in zip(entries, tweets, strict=True):
                if tweet is not None and _restorable(entry, tweet, now):
                    if len(items) == limit:
                        return DeletedTweetsPage(items, has_next=True)
                    items.append(DeletedTweet(tweet, entry.since, entry.due_at))
                after = entry.position
            if len(entries) <= limit:
                return DeletedTweetsPage(items, has_next=False)


def _restorable(entry: LifecycleEntry, tweet: TweetRecord, now: datetime) -> bool:
    return (
        tweet.is_deleted
        and tweet.retweet_of_tweet_id is None
        and tweet.user_id == entry.owner_id
        and entry.due_at > now
    )


class RestoreTweet:
    def __init__(self, stores: Stores, jobs: Jobs, tweet_cache: ReadThrough[TweetRecord]) -> None:
        self._stores = stores
        self._jobs = jobs
        self._tweet_cache = tweet_cache

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet = await self._restorable(viewer_id, tweet_id)
        if await self._stores.tweets.restore(tweet.id):
            await self._count(tweet)
        await self._tweet_cache.invalidate([tweet.id])
        [restored] = await self._stores.tweets.get_many([tweet.id])
        tweet = restored or tweet
        await record_authored(self._stores, self._jobs, tweet)
        await self._stores.lifecycle.cancel(LifecycleKind.TWEET, viewer_id, tweet.id)
        return tweet

    async def _restorable(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        [tweet] = await self._stores.tweets.get_many([tweet_id])
        if tweet is None:
            raise NotFoundError("That tweet does not exist.", argument="id")
        if tweet.user_id != viewer_id:
            raise Forbidden("Only its author can restore a tweet.", argument="id")
        entry = await self._stores.lifecycle.get(LifecycleKind.TWEET, viewer_id, tweet_id)
        if not tweet.is_deleted or entry is None or tweet.retweet_of_tweet_id is not None:
            raise NotFoundError("That tweet is not a deleted tweet of yours.", argument="id")
        if entry.due_at <= utcnow():
            raise GracePeriodOver(
                "That tweet was deleted too long ago to be restored.", argument="id"
            )
        return tweet

    async def _count(self, tweet: TweetRecord) -> None:
        await self._stores.users.add_to_stats(tweet.user_id, {"tweets_count": 1})
        if tweet.reply_to_tweet_id is not None:
            await self._stores.engagement.add_counts(tweet.reply_to_tweet_id, replies=1)
