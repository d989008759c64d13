"""UserStore contract, account deletion: deactivate and reactivate change only
deactivated_at; purge removes the row, its stats and settings, and frees the username and
email for a new sign-up; again, it changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from storage.errors import NotFound
from storage.ports import UserStore
from storage.records import UserRecord, utcnow


async def test_deactivate_and_reactivate_change_only_deactivated_at(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    at = utcnow()
    gone = await user_store.deactivate(user.id, at)
    assert gone == replace(user, deactivated_at=at)
    assert await user_store.get_many([user.id]) == [gone]
    assert await user_store.find_by_username(user.username) == gone  # still taken
    assert await user_store.find_by_email(user.email) == gone
    assert await user_store.reactivate(user.id) == user
    assert await user_store.get_many([user.id]) == [user]


async def test_a_user_created_deactivated_reads_back_deactivated(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user(deactivated_at=utcnow())
    await user_store.create(user)
    assert await user_store.get_many([user.id]) == [user]


async def test_deactivating_a_missing_user_is_not_found(
    user_store: UserStore, new_id: Callable[[], int]
) -> None:
    with pytest.raises(NotFound):
        await user_store.deactivate(new_id(), utcnow())
    with pytest.raises(NotFound):
        await user_store.reactivate(new_id())


async def test_purge_removes_the_user_and_frees_its_names(
    user_store: UserStore, make_user: Callable[..., UserRecord], new_id: Callable[[], int]
) -> None:
    user, other = make_user(), make_user()
    for each in (user, other):
        await user_store.create(each)
    await user_store.add_to_stats(other.id, {"followers_count": 2})
    await user_store.deactivate(user.id, utcnow())
    assert await user_store.purge(user.id) is True
    assert await user_store.get_many([user.id, other.id]) == [None, other]
    assert await user_store.get_stats_many([user.id]) == [None]
    assert await user_store.get_settings(user.id) is None
    assert await user_store.find_by_username(user.username) is None
    assert await user_store.find_by_email(user.email) is None
    [stats] = await user_store.get_stats_many([other.id])
    assert stats is not None and stats.followers_count == 2  # others untouched
    assert await user_store.purge(user.id) is False  # again: nothing
    again = make_user(username=user.username.upper(), email=user.email)
    await user_store.create(again)  # the names are free to sign up again
    assert await user_store.find_by_username(user.username) == again
    assert await user_store.purge(new_id()) is False
