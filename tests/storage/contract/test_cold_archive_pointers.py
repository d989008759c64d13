"""TweetStore contract, the cold tier's part: pointers to archived tweets (by id, and each
author's months newest first), and rows dropped once their tweets are archived."""

from __future__ import annotations

from collections.abc import Callable

from storage.ports import TweetStore
from storage.records import ArchivedTweet, TweetRecord, utcnow


def _tweet(tweet_id: int, author_id: int, conversation_id: int | None = None) -> TweetRecord:
    now = utcnow()
    return TweetRecord(
        id=tweet_id,
        user_id=author_id,
        text="archived one day",
        created_at=now,
        updated_at=now,
        conversation_id=conversation_id,
    )


async def test_pointers_read_back_by_id_and_months_newest_first(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    author, other = new_id(), new_id()
    a, b, c, missing = new_id(), new_id(), new_id(), new_id()
    pointers = [
        ArchivedTweet(a, author, "2024-03"),
        ArchivedTweet(b, author, "2025-01"),
        ArchivedTweet(c, other, "2024-12"),
    ]
    await tweet_store.add_archived(pointers)
    await tweet_store.add_archived(pointers[:1])  # again changes nothing
    assert await tweet_store.archived_many([c, missing, a, b]) == [
        pointers[2],
        None,
        pointers[0],
        pointers[1],
    ]
    assert await tweet_store.archived_many([]) == []
    assert await tweet_store.archived_months(author) == ["2025-01", "2024-03"]
    assert await tweet_store.archived_months(other) == ["2024-12"]
    assert await tweet_store.archived_months(new_id()) == []


async def test_removing_pointers_keeps_months_until_they_are_removed(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    author = new_id()
    a, b = ArchivedTweet(new_id(), author, "2024-03"), ArchivedTweet(new_id(), author, "2024-04")
    await tweet_store.add_archived([a, b])
    await tweet_store.remove_archived([a])
    await tweet_store.remove_archived([a])  # again changes nothing
    assert await tweet_store.archived_many([a.tweet_id, b.tweet_id]) == [None, b]
    assert await tweet_store.archived_months(author) == ["2024-04", "2024-03"]
    await tweet_store.remove_archived_months(author, ["2024-03", "1999-01"])
    assert await tweet_store.archived_months(author) == ["2024-04"]
    await tweet_store.remove_archived_months(author, [])
    assert await tweet_store.archived_months(author) == ["2024-04"]


async def test_drop_rows_removes_only_the_rows_and_keeps_the_thread(
    tweet_store: TweetStore, new_id: Callable[[], int]
) -> None:
    author, root = new_id(), new_id()
    first, second, kept = (_tweet(new_id(), author, root) for _ in range(3))
    for tweet in (first, second, kept):
        await tweet_store.create(tweet)
    await tweet_store.drop_rows([first.id, second.id, first.id])
    await tweet_store.drop_rows([first.id])  # again changes nothing
    await tweet_store.drop_rows([])
    assert await tweet_store.get_many([first.id, second.id, kept.id]) == [None, None, kept]
    await tweet_store.put_back([first])  # thawed: written back whole
    await tweet_store.put_back([first])
    assert await tweet_store.get_many([first.id, second.id]) == [first, None]
    assert [t.id for t in await _scan_all(tweet_store) if t.id in {first.id, second.id}] == [
        first.id
    ]


async def _scan_all(tweet_store: TweetStore) -> list[TweetRecord]:
    found: list[TweetRecord] = []
    after = None
    while batch := await tweet_store.scan(after, 500):
        found += batch
        after = batch[-1].id
    return found
