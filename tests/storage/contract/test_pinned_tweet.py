"""UserStore contract, pinned tweets: `pinned_tweet_id` is a profile field like the others,
set and cleared through update_profile, and read back with the user."""

from __future__ import annotations

from collections.abc import Callable

from storage.ports import UserStore
from storage.records import UserRecord, utcnow


async def test_a_pinned_tweet_is_set_read_back_and_cleared(
    user_store: UserStore, new_id: Callable[[], int], unique: Callable[[str], str]
) -> None:
    name = unique("pin")
    now = utcnow()
    user = UserRecord(new_id(), name, f"{name}@example.com", "hash", name, now, now)
    await user_store.create(user)
    assert (await user_store.get_many([user.id]))[0] == user  # none pinned at first
    tweet_id = new_id()
    pinned = await user_store.update_profile(user.id, {"pinned_tweet_id": tweet_id})
    assert pinned.pinned_tweet_id == tweet_id and pinned.bio == user.bio
    [read] = await user_store.get_many([user.id])
    assert read is not None and read.pinned_tweet_id == tweet_id
    found = await user_store.find_by_username(name)
    assert found is not None and found.pinned_tweet_id == tweet_id
    cleared = await user_store.update_profile(user.id, {"pinned_tweet_id": None})
    assert cleared.pinned_tweet_id is None
