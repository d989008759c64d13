"""TweetStore contract: durable writes, idempotency keys, batch reads, soft delete once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from storage.ports import TweetStore
from storage.records import ConversationEntry, TweetRecord, utcnow


@pytest.fixture
def make_tweet(new_id: Callable[[], int]) -> Callable[..., TweetRecord]:
    author = new_id()

    def make(**fields: object) -> TweetRecord:
        now = utcnow()
        values: dict[str, object] = {
            "id": new_id(),
            "user_id": author,
            "text": "hello #world",
            "created_at": now,
            "updated_at": now,
        }
        values.update(fields)
        return TweetRecord(**values)  # type: ignore[arg-type]

    return make


async def test_created_tweet_reads_back_equal(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    tweet = make_tweet(
        reply_to_tweet_id=new_id(),
        reply_to_user_id=new_id(),
        quote_tweet_id=new_id(),
        media_urls=("media/a.png", "media/b.png"),
        hashtags=("world", "python"),
        mentions=(new_id(), new_id()),
        language="en",
        source="contract test",
        conversation_id=new_id(),
    )
    assert await tweet_store.create(tweet) == (tweet, True)
    assert await tweet_store.get_many([tweet.id]) == [tweet]


async def test_get_many_keeps_order_and_gives_none_for_misses(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    first, second = make_tweet(), make_tweet(text="second")
    for tweet in (first, second):
        await tweet_store.create(tweet)
    missing = new_id()
    assert await tweet_store.get_many([second.id, missing, first.id]) == [second, None, first]
    assert await tweet_store.get_many([]) == []


async def test_get_many_of_many_ids(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    tweets = [make_tweet() for _ in range(30)]
    for tweet in tweets:
        await tweet_store.create(tweet)
    ids = [new_id() for _ in range(1200)] + [tweet.id for tweet in tweets]
    found = await tweet_store.get_many(ids)
    assert found[:1200] == [None] * 1200
    assert found[1200:] == tweets


async def test_same_author_and_key_returns_the_first_tweet(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord]
) -> None:
    first = make_tweet(text="first")
    retry = make_tweet(text="retried")
    assert await tweet_store.create(first, idempotency_key="k1") == (first, True)
    assert await tweet_store.create(retry, idempotency_key="k1") == (first, False)
    assert await tweet_store.get_many([retry.id]) == [None]


async def test_same_key_from_another_author_is_a_new_tweet(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    mine = make_tweet()
    theirs = make_tweet(user_id=new_id())
    assert await tweet_store.create(mine, idempotency_key="same") == (mine, True)
    assert await tweet_store.create(theirs, idempotency_key="same") == (theirs, True)


async def test_concurrent_retries_with_one_key_make_one_tweet(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord]
) -> None:
    attempts = [make_tweet(text=f"attempt {i}") for i in range(10)]
    results = await asyncio.gather(
        *(tweet_store.create(tweet, idempotency_key="burst") for tweet in attempts)
    )
    assert [created for _, created in results].count(True) == 1
    winner = next(tweet for tweet, created in results if created)
    assert all(tweet == winner for tweet, _ in results)
    stored = await tweet_store.get_many([tweet.id for tweet in attempts])
    assert [tweet for tweet in stored if tweet is not None] == [winner]


async def test_rewriting_a_tweet_id_changes_nothing(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord]
) -> None:
    tweet = make_tweet()
    await tweet_store.create(tweet)
    created = await tweet_store.create(make_tweet(id=tweet.id, text="other"))
    assert created == (tweet, False)
    assert await tweet_store.get_many([tweet.id]) == [tweet]


async def test_soft_delete_is_true_once(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    tweet = make_tweet()
    await tweet_store.create(tweet)
    later = tweet.created_at + timedelta(seconds=1)
    results = await asyncio.gather(*(tweet_store.mark_deleted(tweet.id, later) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    [stored] = await tweet_store.get_many([tweet.id])
    assert stored is not None and stored.is_deleted
    assert stored.text == tweet.text
    assert await tweet_store.mark_deleted(new_id(), later) is False


async def test_scan_visits_every_tweet_once(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    mine = {new_id() for _ in range(23)}
    for tweet_id in mine:
        await tweet_store.create(_scan_tweet(tweet_id))
    seen: list[int] = []
    after = None
    while batch := await tweet_store.scan(after, 7):
        seen += [tweet.id for tweet in batch]
        after = batch[-1].id
    assert len(seen) == len(set(seen))  # no tweet twice
    assert mine <= set(seen)  # (a shared server holds other tests' tweets too)


def _scan_tweet(tweet_id: int) -> TweetRecord:
    now = utcnow()
    return TweetRecord(id=tweet_id, user_id=1, text="scan me", created_at=now, updated_at=now)


async def test_a_conversation_is_read_whole_oldest_first_with_deletions_flagged(
    tweet_store: TweetStore, make_tweet: Callable[..., TweetRecord], new_id: Callable[[], int]
) -> None:
    root = make_tweet()
    root = make_tweet(id=root.id, conversation_id=root.id)
    reply = make_tweet(reply_to_tweet_id=root.id, conversation_id=root.id, user_id=new_id())
    answer = make_tweet(reply_to_tweet_id=reply.id, conversation_id=root.id)
    elsewhere = make_tweet(conversation_id=new_id())
    for tweet in (answer, root, elsewhere, reply):  # written in any order
        await tweet_store.create(tweet)
    await tweet_store.create(reply)  # a retried write adds nothing
    await tweet_store.mark_deleted(reply.id, utcnow())

    def entry(tweet: TweetRecord, deleted: bool = False) -> ConversationEntry:
        return ConversationEntry(
            tweet.id, tweet.reply_to_tweet_id, tweet.user_id, tweet.created_at, deleted
        )

    assert await tweet_store.conversation(root.id, 10) == [
        entry(root),
        entry(reply, deleted=True),
        entry(answer),
    ]
    assert await tweet_store.conversation(root.id, 2) == [entry(root), entry(reply, True)]
    assert await tweet_store.conversation(new_id(), 10) == []
