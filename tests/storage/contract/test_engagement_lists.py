"""EngagementStore contract, the lists: who liked and who retweeted a tweet, the tweets
quoting it, and a user's bookmarks. Each is newest first by (time, id), pages continue
strictly after the position given, and undoing takes the entry out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from storage.ports import EngagementStore
from storage.records import EngagementEdge, TimelineEntry, utcnow
from tests.storage.contract.conftest import NewTweet


def _times(*seconds: int) -> list[datetime]:
    start = utcnow() - timedelta(minutes=10)
    return [start + timedelta(seconds=s) for s in seconds]


async def _all_pages(fetch: Callable[[int, Any], Awaitable[list[Any]]], size: int) -> list[Any]:
    """Every entry, a page of `size` at a time, each page after the last one's position."""
    found: list[Any] = []
    after = None
    while True:
        page = await fetch(size, after)
        found += page
        if len(page) < size:
            return found
        after = page[-1].position


async def test_likers_are_newest_like_first_and_an_unlike_leaves_the_list(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet = await new_tweet()
    fans = [new_id() for _ in range(6)]
    times = _times(5, 1, 4, 2, 6, 6)  # the last two share a time: the higher id comes first
    for fan, at in zip(fans, times, strict=True):
        assert await store.like(fan, tweet.id, at)
    assert not await store.like(fans[0], tweet.id, utcnow())  # again: keeps the first time
    expected = sorted(
        (EngagementEdge(tweet.id, fan, at) for fan, at in zip(fans, times, strict=True)),
        key=lambda edge: edge.position,
        reverse=True,
    )
    assert await store.likers_page(tweet.id, 10) == expected

    def likers(limit: int, after: Any) -> Awaitable[list[EngagementEdge]]:
        return store.likers_page(tweet.id, limit, after)

    assert await _all_pages(likers, 2) == expected
    assert await store.likers_page(tweet.id, 2, expected[1].position) == expected[2:4]

    assert await store.unlike(fans[1], tweet.id)
    assert fans[1] not in [edge.user_id for edge in await store.likers_page(tweet.id, 10)]
    assert await store.likers_page(tweet.id, 0) == []
    assert await store.likers_page(new_id(), 10) == []


async def test_retweeters_are_newest_first_and_an_undo_leaves_the_list(
    store: EngagementStore, new_tweet: NewTweet, new_id: Callable[[], int]
) -> None:
    tweet = await new_tweet()
    fans = [new_id() for _ in range(4)]
    times = _times(3, 1, 4, 2)
    for fan, at in zip(fans, times, strict=True):
        assert await store.retweet(fan, tweet.id, new_id(), at)
    assert [edge.user_id for edge in await store.retweeters_page(tweet.id, 10)] == [
        fans[2], fans[0], fans[3], fans[1]
    ]  # fmt: skip
    [first, second] = await store.retweeters_page(tweet.id, 2)
    assert (first.at, second.at) == (times[2], times[0])
    rest = await store.retweeters_page(tweet.id, 10, second.position)
    assert [edge.user_id for edge in rest] == [fans[3], fans[1]]

    assert await store.undo_retweet(fans[2], tweet.id) is not None
    assert [edge.user_id for edge in await store.retweeters_page(tweet.id, 1)] == [fans[0]]


async def test_quotes_are_newest_first_once_each_and_removed_when_asked(
    store: EngagementStore, new_id: Callable[[], int]
) -> None:
    quoted, other = new_id(), new_id()
    times = _times(2, 7, 1, 7)
    quotes = [TimelineEntry(at, new_id(), new_id()) for at in times]
    for quote in quotes + quotes:  # recording one again changes nothing
        await store.add_quote(quoted, quote)
    await store.add_quote(other, TimelineEntry(utcnow(), new_id(), new_id()))
    newest_first = sorted(quotes, reverse=True)
    assert await store.quotes_page(quoted, 10) == newest_first

    def page(limit: int, after: Any) -> Awaitable[list[TimelineEntry]]:
        return store.quotes_page(quoted, limit, after)

    assert await _all_pages(page, 3) == newest_first
    await store.remove_quote(quoted, quotes[1])
    await store.remove_quote(quoted, quotes[1])
    assert await store.quotes_page(quoted, 10) == [q for q in newest_first if q != quotes[1]]
    assert len(await store.quotes_page(other, 10)) == 1


async def test_a_bookmark_is_claimed_once_under_concurrent_retries(
    store: EngagementStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, author = new_id(), new_id(), new_id()
    first = utcnow()
    results = await asyncio.gather(
        *(store.bookmark(owner, tweet, author, first + timedelta(seconds=n)) for n in range(20))
    )
    assert results.count(True) == 1
    [entry] = await store.bookmarks_page(owner, 10)
    assert (entry.tweet_id, entry.author_id) == (tweet, author)
    assert not await store.bookmark(owner, tweet, author, first + timedelta(hours=1))
    assert await store.bookmarks_page(owner, 10) == [entry]  # the first time stays


async def test_bookmarks_are_newest_first_private_and_undone_once(
    store: EngagementStore, new_id: Callable[[], int]
) -> None:
    owner, someone = new_id(), new_id()
    times = _times(4, 1, 3, 3, 2)
    tweets = [TimelineEntry(at, new_id(), new_id()) for at in times]
    for entry in tweets:
        assert await store.bookmark(owner, entry.tweet_id, entry.author_id, entry.created_at)
    newest_first = sorted(tweets, reverse=True)
    assert await store.bookmarks_page(owner, 10) == newest_first

    def page(limit: int, after: Any) -> Awaitable[list[TimelineEntry]]:
        return store.bookmarks_page(owner, limit, after)

    assert await _all_pages(page, 2) == newest_first
    ids = [entry.tweet_id for entry in tweets]
    unknown = new_id()
    assert await store.bookmarked_many(owner, [ids[2], unknown, ids[0], ids[2]]) == [
        True, False, True, True
    ]  # fmt: skip
    assert await store.bookmarked_many(someone, ids) == [False] * len(ids)
    assert await store.bookmarks_page(someone, 10) == []
    assert await store.bookmarked_many(owner, []) == []

    results = await asyncio.gather(*(store.unbookmark(owner, ids[0]) for _ in range(10)))
    assert results.count(True) == 1
    assert not await store.unbookmark(owner, unknown)
    assert not await store.unbookmark(someone, ids[1])
    assert await store.bookmarked_many(owner, [ids[0], ids[1]]) == [False, True]
    assert await store.bookmarks_page(owner, 10) == [e for e in newest_first if e != tweets[0]]
    assert await store.bookmarks_page(owner, 0) == []


async def test_bookmarked_many_answers_for_a_page_of_more_than_a_hundred(
    store: EngagementStore, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    ids = [new_id() for _ in range(150)]
    for tweet_id in ids[::3]:
        await store.bookmark(owner, tweet_id, new_id(), utcnow())
    answers = await store.bookmarked_many(owner, ids)
    assert answers == [n % 3 == 0 for n in range(150)]
