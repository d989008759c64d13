"""Purging deleted tweets once their grace period is over (issue #18, item 1).

`deleteTweet` schedules a TWEET entry due `tweet_grace_s` after the deletion; until then the
author may restore the tweet. `PurgeDeletedTweets` reads the entries that are due, checks the
truth (a restored or already purged tweet is skipped) and removes the tweet from every store
with `purge_tweets`, which the account purge calls too for every tweet of a deleted account.

A purge is idempotent and resumable: each write is a removal that a second run finds done,
counts move only for rows really removed (`unlike` / `undo_retweet` report it), the tweet's
own row goes last but one (while it is there the next run finds the work) and the schedule
entry goes last of all. Moderator removals are never scheduled: they are kept as the
moderation log's evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from app.archive import ColdArchive
from app.jobs.base import follower_batches
from app.jobs.fan_out import timeline_entry
from app.jobs.retract import out_of_authors_lists
from app.lifecycle import LifecycleDeps, Tally
from app.services.delete_tweet import retract
from storage.records import LifecycleKind, TimelineKind, TweetRecord

PAGE = 200  # likers, retweeters and replies read per round trip while purging


async def purge_tweets(deps: LifecycleDeps, tweets: Sequence[TweetRecord]) -> None:
    """Remove each tweet from every store: engagement (with the likers' likes_count and the
    retweeters' own retweets corrected), timelines, the search index, its media objects,
    caches, and finally its rows. Again, or after a crash midway, it finishes the job.

    A tweet still live (an account's tweets, other users' retweets of a purged tweet) is
    first retracted as a deletion would (its author's tweets_count and its parent's replies
    count corrected once), and taken out of its author's followers' home timelines here,
    since its retract job will find no row. A deleted one had that done when deleted."""
    for tweet in tweets:
        await _purge(deps, tweet)


async def _purge(deps: LifecycleDeps, tweet: TweetRecord) -> None:
    stores = deps.stores
    followers = not tweet.is_deleted
    if followers:
        await retract(stores, deps.jobs, deps.tweet_cache, tweet)
    await deps.tweet_cache.invalidate([tweet.id])
    await stores.search.remove([tweet.id])
    await _unlike_all(deps, tweet.id)
    await _undo_retweets(deps, tweet.id)
    await _out_of_timelines(deps, tweet)
    if followers:
        await _out_of_followers_homes(deps, tweet)
    await stores.engagement.forget_tweet(tweet.id)
    media = [key for key in tweet.media_urls if key.startswith("media/")]
    if media:
        await stores.media.delete_many(media)
    await stores.tweets.purge(tweet)
    await deps.tweet_cache.invalidate([tweet.id])


async def _unlike_all(deps: LifecycleDeps, tweet_id: int) -> None:
    """Every like of the tweet, each liker's likes_count down once per like really removed."""
    engagement = deps.stores.engagement
    while likers := await engagement.likers_page(tweet_id, PAGE):
        removed: dict[int, dict[str, int]] = {}
        for edge in likers:
            if await engagement.unlike(edge.user_id, tweet_id):
                removed[edge.user_id] = {"likes_count": -1}
        if removed:
            await deps.stores.users.add_to_stats_many(removed)
        if len(likers) < PAGE or not removed:  # what is left of the list is forgotten
            break


async def _undo_retweets(deps: LifecycleDeps, tweet_id: int) -> None:
    """Other users' retweets of the tweet go with it: each retweet is retracted (its author's
    tweets_count corrected once) and purged."""
    stores = deps.stores
    while retweeters := await stores.engagement.retweeters_page(tweet_id, PAGE):
        undone = [
            await stores.engagement.undo_retweet(edge.user_id, tweet_id) for edge in retweeters
        ]
        found = [i for i in undone if i is not None]
        await ColdArchive(stores).thaw(found)  # retweets in the cold tier go too
        for retweet in await stores.tweets.get_many(found):
            if retweet is not None:
                await _purge(deps, retweet)
        if len(retweeters) < PAGE or not found:  # what is left of the list is forgotten
            break


async def _out_of_timelines(deps: LifecycleDeps, tweet: TweetRecord) -> None:
    """The timelines the tweet was written to by its author's side (followers' home
    timelines were cleared by the retract job when it was deleted), the quotes list it is
    in, and its own replies and quotes lists."""
    timelines = deps.stores.timelines
    await out_of_authors_lists(deps.stores, tweet)
    while replies := await timelines.page(TimelineKind.REPLIES, tweet.id, PAGE):
        await timelines.remove(TimelineKind.REPLIES, [tweet.id], replies)
        if len(replies) < PAGE:
            break


async def _out_of_followers_homes(deps: LifecycleDeps, tweet: TweetRecord) -> None:
    entry = [timeline_entry(tweet)]
    async for followers in follower_batches(deps.stores.graph, tweet.user_id, PAGE):
        await deps.stores.timelines.remove(TimelineKind.HOME, followers, entry)


class PurgeDeletedTweets:
    """Purges the deleted tweets whose grace period is over, a batch at a time."""

    name: ClassVar[str] = "purge_tweets"

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps
        self._batch = deps.thresholds.batch

    async def __call__(self, now: datetime, tally: Tally) -> None:
        lifecycle = self._deps.stores.lifecycle
        while entries := await lifecycle.due(LifecycleKind.TWEET, now, self._batch):
            tweets = await self._deps.stores.tweets.get_many([e.subject_id for e in entries])
            for entry, tweet in zip(entries, tweets, strict=True):
                if tweet is None or not tweet.is_deleted:
                    tally.add("skipped")  # purged already, or restored
                else:
                    await purge_tweets(self._deps, [tweet])
                    tally.add("purged")
                await lifecycle.cancel(LifecycleKind.TWEET, entry.owner_id, entry.subject_id)
            if len(entries) < self._batch:
                break
