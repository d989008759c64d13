"""ColdArchive on the real stores of each profile (media on S3 with the engines): a move
that died before the primary copy went is finished by a rerun without duplicates; thaw puts
tweets back whole; the account purge's `thaw_author` and `remove_author` leave nothing of
an author's archives behind."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.archive import ColdArchive, archive_key, month_of
from app.ids import SnowflakeGenerator
from storage.records import TimelineEntry, TimelineKind, TweetRecord, ms_from_utc, utcnow
from storage.registry import Stores, migrate_all, open_stores
from tests.backends import backend_url
from tests.support.profiles import PROFILES, settings_on

OLD = timedelta(days=500)
# One generator for the module: ids never repeat (the author ids are real-time ones).
IDS = SnowflakeGenerator(7, clock_ms=lambda: ms_from_utc(utcnow() - OLD))


@pytest.fixture(params=PROFILES)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    settings = settings_on(request.param, tmp_path)
    if request.param == "engines":
        settings = settings.with_overrides(media_url=backend_url("CHIRP_MEDIA_URL"))
    await migrate_all(settings)
    opened = await open_stores(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def _posted(stores: Stores, author: int, days: list[int]) -> list[TweetRecord]:
    """Tweets of `author` posted `OLD` + each of `days` ago, in the tables and timeline."""
    tweets = []
    for day in days:
        at = utcnow() - OLD - timedelta(days=day)
        tweet = TweetRecord(IDS.next_id(), author, f"day {day}", at, at)
        await stores.tweets.create(tweet)
        await stores.timelines.push(TimelineKind.AUTHOR, [author], _entry(tweet))
        tweets.append(tweet)
    return tweets


def _entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(tweet.created_at, tweet.id, tweet.user_id)


def _archive(stores: Stores) -> ColdArchive:
    return ColdArchive(stores)


async def test_a_rerun_of_a_move_that_died_midway_changes_nothing(stores: Stores) -> None:
    author = SnowflakeGenerator(8).next_id()
    tweets = await _posted(stores, author, [0, 1, 40])
    archive = _archive(stores)
    assert [t.id for t in await archive.move(tweets)] == [t.id for t in tweets]
    # As if the pass died after the archives and pointers, before the primary copy went.
    await stores.tweets.put_back(tweets)
    for tweet in tweets:
        await stores.timelines.push(TimelineKind.AUTHOR, [author], _entry(tweet))
    assert len(await archive.move(tweets)) == 3
    assert await stores.tweets.get_many([t.id for t in tweets]) == [None, None, None]
    assert await stores.timelines.page(TimelineKind.AUTHOR, author, 10) == []
    assert await archive.get_many([t.id for t in tweets]) == tweets
    data = await stores.media.get(archive_key(author, month_of(tweets[0].created_at)))
    assert data is not None
    assert len(gzip.decompress(data).splitlines()) == sum(
        month_of(t.created_at) == month_of(tweets[0].created_at) for t in tweets
    )
    newest_first = sorted((_entry(t) for t in tweets), reverse=True)
    assert await archive.authored(author, 10) == newest_first
    assert await archive.authored(author, 1, newest_first[0].position) == newest_first[1:2]


async def test_thaw_puts_tweets_back_whole_and_forgets_them(stores: Stores) -> None:
    author = SnowflakeGenerator(9).next_id()
    first, second = await _posted(stores, author, [0, 1])
    archive = _archive(stores)
    await archive.move([first, second])
    assert [t.id for t in await archive.thaw([first.id, first.id + 1])] == [first.id]
    assert await stores.tweets.get_many([first.id, second.id]) == [first, None]
    assert await archive.get_many([first.id, second.id]) == [None, second]
    assert await stores.timelines.page(TimelineKind.AUTHOR, author, 10) == [_entry(first)]
    assert await archive.authored(author, 10) == [_entry(first), _entry(second)]
    assert await archive.thaw([first.id]) == []  # not archived any more: nothing to do


async def test_thaw_author_and_remove_author_leave_no_archive(stores: Stores) -> None:
    archive = _archive(stores)
    thawed_author, removed_author = (SnowflakeGenerator(10).next_id() + n for n in range(2))
    thawed = await _posted(stores, thawed_author, [0, 45])
    removed = await _posted(stores, removed_author, [0, 45])
    await archive.move(thawed + removed)

    assert await archive.thaw_author(thawed_author) == 2
    assert await stores.tweets.get_many([t.id for t in thawed]) == thawed
    assert await stores.tweets.archived_months(thawed_author) == []

    await archive.remove_author(removed_author)
    await archive.remove_author(removed_author)  # again changes nothing
    assert await archive.get_many([t.id for t in removed]) == [None, None]
    assert await stores.tweets.archived_months(removed_author) == []
    for author in (thawed_author, removed_author):
        assert await stores.media.keys(f"cold/tweets/{author}/", 10) == []


async def test_moves_and_thaws_of_one_month_at_once_lose_nothing(stores: Stores) -> None:
    """A pass moving tweets into a month while a deletion thaws one of it out: each rewrites
    the month's file whole, so they take turns, and every tweet ends up in exactly one
    place."""
    author = SnowflakeGenerator(11).next_id()
    tweets = await _posted(stores, author, [0] * 8)  # one month
    ids = [t.id for t in tweets]
    archive = _archive(stores)
    await archive.move(tweets[:4])
    await asyncio.gather(
        archive.thaw(ids[:1]),
        archive.move(tweets[4:6]),
        archive.thaw(ids[1:2]),
        archive.move(tweets[6:]),
    )
    primary, cold = await stores.tweets.get_many(ids), await archive.get_many(ids)
    assert primary == tweets[:2] + [None] * 6
    assert cold == [None] * 2 + tweets[2:]


async def test_a_move_leaves_a_tweet_deleted_since_it_was_read(stores: Stores) -> None:
    """The pass read the tweets, then the author deleted one (under the month's lock): the
    move archives only what is still live, and the deleted one stays for its purge."""
    author = SnowflakeGenerator(12).next_id()
    kept, deleted = await _posted(stores, author, [0, 0])
    await stores.tweets.mark_deleted(deleted.id, utcnow())
    archive = _archive(stores)
    assert [t.id for t in await archive.move([kept, deleted])] == [kept.id]  # stale snapshot
    [row] = await stores.tweets.get_many([deleted.id])
    assert row is not None and row.is_deleted
    assert await archive.get_many([kept.id, deleted.id]) == [kept, None]
