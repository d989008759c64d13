"""EngagementStore contract: a like or retweet is counted once however often it is retried,
counts equal rows, undo counts down once, likes_page is newest like first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from storage.ports import EngagementStore
from storage.records import TimelineEntry, TweetCounts, utcnow
from tests.storage.contract.conftest import NewTweet


async def test_like_counts_once_under_fifty_concurrent_retries(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet, fan = await new_tweet(), new_id()
    results = await asyncio.gather(*(store.like(fan, tweet.id, utcnow()) for _ in range(50)))
    assert results.count(True) == 1
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id, likes=1)]
    assert await store.liked_many(fan, [tweet.id]) == [True]


async def test_like_counts_equal_rows(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet = await new_tweet()
    fans = [new_id() for _ in range(20)]
    await asyncio.gather(*(store.like(fan, tweet.id, utcnow()) for fan in fans + fans))
    [counts] = await store.counts_many([tweet.id])
    assert counts.likes == 20
    for fan in fans:
        assert await store.liked_many(fan, [tweet.id]) == [True]


async def test_unlike_counts_down_once(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet, fan, other = await new_tweet(), new_id(), new_id()
    await store.like(fan, tweet.id, utcnow())
    await store.like(other, tweet.id, utcnow())
    results = await asyncio.gather(*(store.unlike(fan, tweet.id) for _ in range(10)))
    assert results.count(True) == 1
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id, likes=1)]
    assert await store.liked_many(fan, [tweet.id]) == [False]
    assert await store.unlike(new_id(), tweet.id) is False
    assert await store.likes_page(fan, 10) == []


async def test_retweet_counts_once_and_undo_returns_the_retweet_id_once(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet, fan = await new_tweet(), new_id()
    retweet_id = new_id()
    results = await asyncio.gather(
        *(store.retweet(fan, tweet.id, retweet_id, utcnow()) for _ in range(50))
    )
    assert results.count(True) == 1
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id, retweets=1)]
    assert await store.retweeted_many(fan, [tweet.id]) == [True]
    assert await store.undo_retweet(fan, tweet.id) == retweet_id
    assert await store.undo_retweet(fan, tweet.id) is None
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id)]
    assert await store.retweeted_many(fan, [tweet.id]) == [False]


async def test_a_retried_retweet_keeps_the_first_retweet_id(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet, fan = await new_tweet(), new_id()
    first, second = new_id(), new_id()
    assert await store.retweet(fan, tweet.id, first, utcnow()) is True
    assert await store.retweet(fan, tweet.id, second, utcnow()) is False
    assert await store.undo_retweet(fan, tweet.id) == first


async def test_liked_and_retweeted_many_keep_order(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweets = [await new_tweet() for _ in range(4)]
    fan = new_id()
    await store.like(fan, tweets[1].id, utcnow())
    await store.retweet(fan, tweets[2].id, new_id(), utcnow())
    ids = [tweet.id for tweet in tweets] + [new_id()]
    assert await store.liked_many(fan, ids) == [False, True, False, False, False]
    assert await store.retweeted_many(fan, ids) == [False, False, True, False, False]
    assert await store.liked_many(new_id(), ids) == [False] * 5
    assert await store.liked_many(fan, []) == []


async def test_counts_many_of_unknown_tweets_are_zero(
    store: EngagementStore, new_id: Callable[[], int]
) -> None:
    missing = new_id()
    assert await store.counts_many([missing]) == [TweetCounts(missing)]


async def test_add_counts_adds_replies_and_views(
    store: EngagementStore, new_tweet: NewTweet
) -> None:
    tweet = await new_tweet()
    await asyncio.gather(*(store.add_counts(tweet.id, replies=1, views=3) for _ in range(20)))
    await store.add_counts(tweet.id, views=1)
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id, replies=20, views=61)]


async def test_add_views_many_adds_each_tweets_views_and_skips_unknown_ones(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweets = [await new_tweet() for _ in range(60)]  # more than one Cassandra batch
    missing = new_id()
    views = {tweet.id: n + 1 for n, tweet in enumerate(tweets)} | {missing: 5}
    await store.add_views_many(views)
    await store.add_views_many({tweets[0].id: 10, tweets[1].id: 0})
    await store.add_views_many({})
    counts = await store.counts_many([tweet.id for tweet in tweets] + [missing])
    assert [c.views for c in counts] == [11] + [n + 1 for n in range(1, 60)] + [0]
    assert {c.likes + c.retweets + c.replies for c in counts} == {0}


async def test_likes_page_is_newest_like_first_with_the_tweets_author(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    fan = new_id()
    tweets = [await new_tweet() for _ in range(7)]
    start = utcnow() - timedelta(minutes=10)
    # Liked in an order unrelated to tweet ids; the last two likes share a time.
    times = [start + timedelta(seconds=s) for s in (5, 1, 4, 2, 6, 3, 6)]
    for tweet, at in zip(tweets, times, strict=True):
        await store.like(fan, tweet.id, at)
    expected = sorted(
        (
            TimelineEntry(at, tweet.id, tweet.user_id)
            for tweet, at in zip(tweets, times, strict=True)
        ),
        reverse=True,
    )
    assert await store.likes_page(fan, 100) == expected
    seen: list[TimelineEntry] = []
    after = None
    while page := await store.likes_page(fan, 3, after):
        seen += page
        after = page[-1].position
    assert seen == expected
