"""Tweet loaders, including the one every read path goes through: VisibleTweetByIdLoader
answers only the tweets app/policy.py lets the viewer see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiodataloader import DataLoader

from app.policy import Policy
from app.readthrough import ReadThrough
from storage.ports import EngagementStore
from storage.records import TweetCounts, TweetRecord


class TweetByIdLoader(DataLoader[int, TweetRecord | None]):
    def __init__(self, tweets: ReadThrough[TweetRecord]) -> None:
        super().__init__()
        self._tweets = tweets

    async def batch_load_fn(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        return await self._tweets.get_many(list(ids))


class TweetCountsByIdLoader(DataLoader[int, TweetCounts]):
    def __init__(self, engagement: EngagementStore) -> None:
        super().__init__()
        self._engagement = engagement

    async def batch_load_fn(self, ids: Sequence[int]) -> list[TweetCounts]:
        return await self._engagement.counts_many(list(ids))


class LikedByViewerLoader(DataLoader[int, bool]):
    def __init__(self, engagement: EngagementStore, viewer_id: int) -> None:
        super().__init__()
        self._engagement = engagement
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._engagement.liked_many(self._viewer_id, list(ids))


class RetweetedByViewerLoader(DataLoader[int, bool]):
    def __init__(self, engagement: EngagementStore, viewer_id: int) -> None:
        super().__init__()
        self._engagement = engagement
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._engagement.retweeted_many(self._viewer_id, list(ids))


class VisibleTweetByIdLoader(DataLoader[int, TweetRecord | None]):
    """A tweet the viewer may see, or None (missing, deleted, blocked or protected from
    them): the policy's verdict, with the viewer's relations read once per request."""

    def __init__(
        self,
        tweets: DataLoader[int, TweetRecord | None],
        users: DataLoader,  # UserByIdLoader
        followed: DataLoader[int, bool] | None,  # FollowedByViewerLoader, None when anonymous
        policy: Callable[[], Awaitable[Policy]],
    ) -> None:
        super().__init__()
        self._tweets = tweets
        self._users = users
        self._followed = followed
        self._policy = policy

    async def batch_load_fn(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        tweets = await self._tweets.load_many(list(ids))
        policy = await self._policy()
        live = [t for t in tweets if t is not None and not t.is_deleted]
        authors = await self._users.load_many(list({t.user_id for t in live}))
        by_id = {a.id: a for a in authors if a is not None}
        to_check = [a.id for a in by_id.values() if policy.needs_follow_check(a)]
        follows: dict[int, bool] = {}
        if to_check and self._followed is not None:
            follows = dict(zip(to_check, await self._followed.load_many(to_check), strict=True))
        visible: list[TweetRecord | None] = []
        for tweet in tweets:
            author = by_id.get(tweet.user_id) if tweet is not None else None
            seen = author is not None and policy.sees_tweet(
                tweet, author, follows.get(author.id, False)
            )
            visible.append(tweet if seen else None)
        return await self._hide_retweets_of_hidden(ids, visible)

    async def _hide_retweets_of_hidden(
        self, ids: Sequence[int], visible: list[TweetRecord | None]
    ) -> list[TweetRecord | None]:
        """A retweet shows only while the viewer may see what it retweets. An original in
        this same batch is answered from it: loading it through this loader would wait for
        the batch that is asking, forever."""
        originals = [t.retweet_of_tweet_id for t in visible if t and t.retweet_of_tweet_id]
        if not originals:
            return visible
        in_batch = dict(zip(ids, visible, strict=True))
        elsewhere = [o for o in dict.fromkeys(originals) if o not in in_batch]
        seen = in_batch | dict(zip(elsewhere, await self.load_many(elsewhere), strict=True))
        return [
            None
            if t is not None and t.retweet_of_tweet_id and not seen[t.retweet_of_tweet_id]
            else t
            for t in visible
        ]
