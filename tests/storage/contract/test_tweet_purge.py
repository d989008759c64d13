"""TweetStore and EngagementStore contract, grace-period deletes: a restore undoes a soft
delete once (its thread's row too), a purge removes the tweet for good (an idempotency key
of it is free again), and `forget_tweet` drops what is kept by the tweet's id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from storage.ports import EngagementStore, TweetStore
from storage.records import TimelineEntry, TweetCounts, TweetRecord, utcnow
from tests.storage.contract.conftest import NewTweet


def _tweet(new_id: Callable[[], int], author: int, **fields: Any) -> TweetRecord:
    now = utcnow()
    return TweetRecord(
        id=new_id(), user_id=author, text="grace", created_at=now, updated_at=now, **fields
    )


async def test_a_restore_undoes_a_soft_delete_once(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    author = new_id()
    root = _tweet(new_id, author)
    reply = _tweet(new_id, author, reply_to_tweet_id=root.id, conversation_id=root.id)
    for tweet in (root, reply):
        await tweet_store.create(tweet)
    assert await tweet_store.restore(reply.id) is False  # not deleted: nothing to restore
    await tweet_store.mark_deleted(reply.id, utcnow() + timedelta(seconds=1))
    results = await asyncio.gather(*(tweet_store.restore(reply.id) for _ in range(4)))
    assert sorted(results) == [False] * 3 + [True]
    [stored] = await tweet_store.get_many([reply.id])
    assert stored is not None and not stored.is_deleted and stored.text == reply.text
    thread = await tweet_store.conversation(root.id, 10)
    assert [(e.tweet_id, e.deleted) for e in thread] == [(reply.id, False)]
    assert await tweet_store.restore(new_id()) is False
    assert await tweet_store.mark_deleted(reply.id, utcnow()) is True  # deletable again


async def test_a_purge_removes_the_tweet_for_good(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    author = new_id()
    root = _tweet(new_id, author)
    reply = _tweet(new_id, author, reply_to_tweet_id=root.id, conversation_id=root.id)
    kept = _tweet(new_id, author, reply_to_tweet_id=root.id, conversation_id=root.id)
    await tweet_store.create(root)
    await tweet_store.create(reply, "key-1")
    await tweet_store.create(kept)
    await tweet_store.mark_deleted(reply.id, utcnow())
    await tweet_store.purge(reply)
    await tweet_store.purge(reply)  # again: nothing left to do
    assert await tweet_store.get_many([reply.id, kept.id, root.id]) == [None, kept, root]
    assert [e.tweet_id for e in await tweet_store.conversation(root.id, 10)] == [kept.id]
    assert await tweet_store.restore(reply.id) is False
    # The key of a purged tweet is free: the next tweet written with it is new.
    again = _tweet(new_id, author)
    assert await tweet_store.create(again, "key-1") == (again, True)
    assert await tweet_store.create(_tweet(new_id, author), "key-1") == (again, False)


async def test_forgetting_a_tweet_drops_its_counters_and_lists(
    engagement: tuple[Any, Any],
    store: EngagementStore,
    new_tweet: NewTweet,
    new_id: Callable[[], int],
) -> None:
    tweet, other = await new_tweet(), await new_tweet()
    quote = TimelineEntry(utcnow(), new_id(), new_id())
    for target in (tweet, other):
        await store.add_quote(target.id, quote)
        await store.add_counts(target.id, replies=2)
    fan = new_id()
    await store.like(fan, tweet.id, utcnow())
    assert await store.unlike(fan, tweet.id) is True  # the purge takes likes back first
    await store.forget_tweet(tweet.id)
    await store.forget_tweet(tweet.id)  # again changes nothing
    await engagement[1].purge(tweet)
    assert await store.quotes_page(tweet.id, 10) == []
    assert await store.likers_page(tweet.id, 10) == []
    assert await store.counts_many([tweet.id]) == [TweetCounts(tweet.id)]
    assert [q.tweet_id for q in await store.quotes_page(other.id, 10)] == [quote.tweet_id]
    [counts] = await store.counts_many([other.id])
    assert counts.replies == 2
