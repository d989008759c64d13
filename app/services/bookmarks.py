"""Bookmarks: a user's private list of tweets to come back to.

Only their owner reads them (`User.bookmarks` answers FORBIDDEN to anyone else), and the
list is read through the policy, so a tweet deleted since, or now hidden from its owner
(a block, a protected account they no longer follow, a suspension), is left out. A tweet
is bookmarked only if its owner may see it (NOT_FOUND otherwise, nothing stored); a
retweet stands for the tweet it retweets, as for likes. Bookmarking again keeps the first
time; removing needs no sight of the tweet and removing one that is not there is a no-op.
"""

from __future__ import annotations

from app.policy import Gate
from app.readthrough import ReadThrough
from storage.ports import EngagementStore
from storage.records import TweetRecord, utcnow


class BookmarkTweet:
    def __init__(self, engagement: EngagementStore, gate: Gate) -> None:
        self._engagement = engagement
        self._gate = gate

    async def __call__(self, viewer_id: int, tweet_id: int) -> TweetRecord:
        tweet, author = await self._gate.visible_tweet(viewer_id, tweet_id, original=True)
        await self._engagement.bookmark(viewer_id, tweet.id, author.id, utcnow())
        return tweet


class UnbookmarkTweet:
    def __init__(self, engagement: EngagementStore, tweets: ReadThrough[TweetRecord]) -> None:
        self._engagement = engagement
        self._tweets = tweets

    async def __call__(self, viewer_id: int, tweet_id: int) -> int:
        """Returns the id unbookmarked: the original's, for a retweet."""
        [tweet] = await self._tweets.get_many([tweet_id])
        if tweet is not None and tweet.retweet_of_tweet_id is not None:
            tweet_id = tweet.retweet_of_tweet_id
        await self._engagement.unbookmark(viewer_id, tweet_id)
        return tweet_id
