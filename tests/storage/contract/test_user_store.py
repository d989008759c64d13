"""UserStore contract: unique names ignoring case, batch reads, profile, stats, settings,
suspensions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from storage.errors import Conflict, NotFound
from storage.ports import UserStore
from storage.records import UserRecord, UserSettings, UserStats, utcnow


async def test_created_user_reads_back_equal(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user(bio="hello", location="Lisbon", verified=True, last_login_at=utcnow())
    await user_store.create(user)
    assert await user_store.get_many([user.id]) == [user]


async def test_get_many_keeps_order_and_gives_none_for_misses(
    user_store: UserStore, make_user: Callable[..., UserRecord], new_id: Callable[[], int]
) -> None:
    first, second = make_user(), make_user()
    for user in (first, second):
        await user_store.create(user)
    missing = new_id()
    found = await user_store.get_many([second.id, missing, first.id, second.id])
    assert found == [second, None, first, second]
    assert await user_store.get_many([]) == []


async def test_username_is_unique_ignoring_case(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    with pytest.raises(Conflict) as raised:
        await user_store.create(make_user(username=user.username.upper()))
    assert raised.value.field == "username"


async def test_email_is_unique_ignoring_case(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    with pytest.raises(Conflict) as raised:
        await user_store.create(make_user(email=user.email.upper()))
    assert raised.value.field == "email"


async def test_phone_is_unique_when_given(
    user_store: UserStore, make_user: Callable[..., UserRecord], unique: Callable[[str], str]
) -> None:
    phone = unique("+351")
    await user_store.create(make_user(phone=phone))
    await user_store.create(make_user())  # many users have no phone
    await user_store.create(make_user())
    with pytest.raises(Conflict) as raised:
        await user_store.create(make_user(phone=phone))
    assert raised.value.field == "phone"


async def test_a_lost_claim_writes_nothing(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    loser = make_user(email=user.email)
    with pytest.raises(Conflict):
        await user_store.create(loser)
    assert await user_store.get_many([loser.id]) == [None]
    assert await user_store.find_by_username(loser.username) is None


async def test_concurrent_claims_of_one_username_have_one_winner(
    user_store: UserStore, make_user: Callable[..., UserRecord], unique: Callable[[str], str]
) -> None:
    name = unique("race")
    attempts = [make_user(username=name if i % 2 else name.upper()) for i in range(10)]
    results = await asyncio.gather(
        *(user_store.create(user) for user in attempts), return_exceptions=True
    )
    assert sum(result is None for result in results) == 1
    assert all(isinstance(r, Conflict) and r.field == "username" for r in results if r is not None)


async def test_find_by_username_and_email_ignore_case(
    user_store: UserStore, make_user: Callable[..., UserRecord], unique: Callable[[str], str]
) -> None:
    user = make_user(username=unique("MiXeD"))
    await user_store.create(user)
    assert await user_store.find_by_username(user.username.lower()) == user
    assert await user_store.find_by_username(user.username.upper()) == user
    assert await user_store.find_by_email(user.email.upper()) == user
    assert await user_store.find_by_username(unique("nobody")) is None
    assert await user_store.find_by_email(unique("nobody") + "@example.com") is None


async def test_update_profile_changes_only_the_given_fields(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user(bio="before", website="https://a.example")
    await user_store.create(user)
    later = user.created_at + timedelta(minutes=5)
    updated = await user_store.update_profile(
        user.id, {"bio": "after", "protected": True, "updated_at": later}
    )
    expected = replace(user, bio="after", protected=True, updated_at=later)
    assert updated == expected
    assert await user_store.get_many([user.id]) == [expected]


async def test_update_profile_of_a_missing_user_is_not_found(
    user_store: UserStore, new_id: Callable[[], int]
) -> None:
    with pytest.raises(NotFound):
        await user_store.update_profile(new_id(), {"bio": "x"})


async def test_update_profile_refuses_claims(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    for field in ("id", "username", "email"):
        with pytest.raises(ValueError):
            await user_store.update_profile(user.id, {field: "x"})


async def test_new_user_has_empty_stats_and_default_settings(
    user_store: UserStore, make_user: Callable[..., UserRecord], new_id: Callable[[], int]
) -> None:
    user = make_user()
    await user_store.create(user)
    missing = new_id()
    assert await user_store.get_stats_many([user.id, missing]) == [UserStats(user.id), None]
    assert await user_store.get_settings(user.id) == UserSettings(user.id)
    assert await user_store.get_settings(missing) is None


async def test_add_to_stats_loses_no_update_under_concurrency(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    await asyncio.gather(
        *(
            user_store.add_to_stats(user.id, {"followers_count": 1, "tweets_count": 2})
            for _ in range(50)
        )
    )
    await user_store.add_to_stats(user.id, {"followers_count": -1})
    [stats] = await user_store.get_stats_many([user.id])
    assert stats == UserStats(user.id, followers_count=49, tweets_count=100)


async def test_add_to_stats_refuses_unknown_counters(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    with pytest.raises(ValueError):
        await user_store.add_to_stats(user.id, {"followers_count = 0; --": 1})


async def test_add_to_stats_many_adds_each_users_deltas(
    user_store: UserStore, make_user: Callable[..., UserRecord], new_id: Callable[[], int]
) -> None:
    users = [make_user() for _ in range(3)]
    for user in users:
        await user_store.create(user)
    first, second, third = (user.id for user in users)
    missing = new_id()
    await user_store.add_to_stats_many(
        {
            first: {"followers_count": 3, "following_count": 1},
            second: {"tweets_count": 2},
            third: {"followers_count": 0},
            missing: {"likes_count": 1},  # no stats row: ignored
        }
    )
    await user_store.add_to_stats_many({first: {"followers_count": -1}, second: {"likes_count": 4}})
    await user_store.add_to_stats_many({})
    assert await user_store.get_stats_many([first, second, third, missing]) == [
        UserStats(first, followers_count=2, following_count=1),
        UserStats(second, tweets_count=2, likes_count=4),
        UserStats(third),
        None,
    ]


async def test_concurrent_add_to_stats_many_lose_no_update(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    users = [make_user() for _ in range(6)]
    for user in users:
        await user_store.create(user)
    ids = [user.id for user in users]
    # Overlapping batches in opposite orders, beside single adds: none lost, none stuck.
    batches = [
        {user_id: {"followers_count": 1} for user_id in (ids if n % 2 else ids[::-1])}
        for n in range(20)
    ]
    await asyncio.gather(
        *(user_store.add_to_stats_many(batch) for batch in batches),
        *(user_store.add_to_stats(user_id, {"followers_count": 1}) for user_id in ids),
    )
    assert await user_store.get_stats_many(ids) == [
        UserStats(user_id, followers_count=21) for user_id in ids
    ]


async def test_add_to_stats_many_refuses_unknown_counters_before_writing(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    with pytest.raises(ValueError):
        await user_store.add_to_stats_many(
            {user.id: {"followers_count": 1}, user.id + 1: {"followers_count = 0; --": 1}}
        )
    assert await user_store.get_stats_many([user.id]) == [UserStats(user.id)]


async def test_update_settings(
    user_store: UserStore, make_user: Callable[..., UserRecord], new_id: Callable[[], int]
) -> None:
    user = make_user()
    await user_store.create(user)
    changes = {
        "language": "pt",
        "private_account": True,
        "notification_preferences": {"likes": False, "mentions": ["email", "push"]},
    }
    expected = UserSettings(
        user.id,
        language="pt",
        private_account=True,
        notification_preferences={"likes": False, "mentions": ["email", "push"]},
    )
    assert await user_store.update_settings(user.id, changes) == expected
    assert await user_store.get_settings(user.id) == expected
    with pytest.raises(NotFound):
        await user_store.update_settings(new_id(), {"language": "pt"})


async def test_ids_with_followers_over_a_threshold(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    # Far above any real count, so other tests' users (on a shared server) stay below it.
    line = 10**9  # fits the design's INT columns
    big, medium, small = make_user(), make_user(), make_user()
    for user, followers in ((big, line + 30), (medium, line + 20), (small, line)):
        await user_store.create(user)
        await user_store.add_to_stats(user.id, {"followers_count": followers})
    ours = {big.id, medium.id, small.id}
    found = await user_store.ids_with_followers_over(line, 1_000)
    assert [user_id for user_id in found if user_id in ours] == [big.id, medium.id]
    assert len(await user_store.ids_with_followers_over(line, 1)) == 1


async def test_set_suspended_suspends_and_lifts(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user()
    await user_store.create(user)
    until = utcnow() + timedelta(days=7)
    suspended = await user_store.set_suspended(user.id, until)
    assert suspended == replace(user, suspended_until=until)  # nothing else changes
    assert await user_store.get_many([user.id]) == [suspended]
    assert await user_store.find_by_username(user.username) == suspended
    assert await user_store.set_suspended(user.id, None) == user
    assert await user_store.get_many([user.id]) == [user]


async def test_a_user_created_suspended_reads_back_suspended(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    user = make_user(suspended_until=utcnow() + timedelta(hours=1))
    await user_store.create(user)
    assert await user_store.get_many([user.id]) == [user]


async def test_set_suspended_of_a_missing_user_is_not_found(
    user_store: UserStore, new_id: Callable[[], int]
) -> None:
    with pytest.raises(NotFound):
        await user_store.set_suspended(new_id(), utcnow() + timedelta(days=1))
    with pytest.raises(NotFound):
        await user_store.set_suspended(new_id(), None)


async def test_scan_visits_every_user_once_by_id(
    user_store: UserStore, make_user: Callable[..., UserRecord]
) -> None:
    """Scanning from just before our users in small batches meets each of them once, in id
    order (users other runs add to a shared server meanwhile may come between)."""
    mine = [make_user() for _ in range(5)]
    for user in reversed(mine):
        await user_store.create(user)
    seen: list[int] = []
    after = mine[0].id - 1
    while after < mine[-1].id:
        batch = await user_store.scan(after, 2)
        assert batch and len(batch) <= 2
        seen += [user.id for user in batch]
        after = batch[-1].id
    assert seen == sorted(set(seen))
    assert [user_id for user_id in seen if user_id in {u.id for u in mine}] == [u.id for u in mine]
    [first] = await user_store.scan(mine[0].id - 1, 1)
    assert first == mine[0]
