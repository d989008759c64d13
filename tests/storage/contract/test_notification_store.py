"""NotificationStore contract: an actor counts once per base key (repeats and retries change
nothing), withdrawing undoes it, groups grow while unread and within the window and start
anew once read, pages run newest first with cursors and a kinds filter, the read marker
never moves back, and concurrent changes on one base all land."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from storage.ports import NotificationStore
from storage.records import SAMPLE_ACTORS, NotificationChange, NotificationGroup, utcnow

WINDOW = timedelta(hours=24)
SECOND = timedelta(seconds=1)


def liked(recipient: int, tweet: int, *actors: int, at_offset_s: float = 0.0) -> NotificationChange:
    at = utcnow() + timedelta(seconds=at_offset_s)
    return NotificationChange(
        recipient_id=recipient,
        base_key=f"like:{tweet}",
        kind="like",
        subject_id=tweet,
        added=tuple(
            (actor, at + index * timedelta(milliseconds=1)) for index, actor in enumerate(actors)
        ),
    )


def unliked(recipient: int, tweet: int, *actors: int) -> NotificationChange:
    return NotificationChange(recipient, f"like:{tweet}", "like", tweet, removed=actors)


async def groups_of(store: NotificationStore, recipient: int) -> list[NotificationGroup]:
    return await store.page(recipient, 100)


async def test_likes_on_one_tweet_make_one_group_and_an_actor_counts_once(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob = new_id(), new_id(), new_id(), new_id()
    [first] = await notification_store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    assert (first.count, first.actor_ids, first.kind, first.subject_id) == (
        1,
        (ada,),
        "like",
        tweet,
    )
    [grown] = await notification_store.apply(liked(owner, tweet, bob), WINDOW, new_id)
    assert grown.id == first.id and grown.count == 2 and grown.actor_ids == (bob, ada)
    # The same like again (a retried job, a double like) changes nothing.
    assert await notification_store.apply(liked(owner, tweet, ada, bob), WINDOW, new_id) == []
    [group] = await groups_of(notification_store, owner)
    assert (group.id, group.count, group.actor_ids) == (first.id, 2, (bob, ada))
    assert group.latest_at == grown.latest_at


async def test_withdrawing_undoes_and_like_unlike_like_notifies_once(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob = new_id(), new_id(), new_id(), new_id()
    await notification_store.apply(liked(owner, tweet, ada, bob), WINDOW, new_id)
    [shrunk] = await notification_store.apply(unliked(owner, tweet, ada), WINDOW, new_id)
    assert (shrunk.count, shrunk.actor_ids) == (1, (bob,))
    assert await notification_store.apply(unliked(owner, tweet, ada), WINDOW, new_id) == []
    await notification_store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    [group] = await groups_of(notification_store, owner)
    assert (group.count, set(group.actor_ids)) == (2, {ada, bob})
    await notification_store.apply(unliked(owner, tweet, ada, bob), WINDOW, new_id)
    assert await groups_of(notification_store, owner) == []
    assert await notification_store.unread_count(owner, 100) == 0


async def test_a_group_keeps_its_newest_actors_and_refills_when_one_withdraws(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet = new_id(), new_id()
    actors = [new_id() for _ in range(SAMPLE_ACTORS + 4)]
    for index, actor in enumerate(actors):
        await notification_store.apply(
            liked(owner, tweet, actor, at_offset_s=index * 0.01), WINDOW, new_id
        )
    [group] = await groups_of(notification_store, owner)
    newest = tuple(reversed(actors))[:SAMPLE_ACTORS]
    assert group.count == len(actors) and group.actor_ids == newest
    [after] = await notification_store.apply(unliked(owner, tweet, newest[0]), WINDOW, new_id)
    assert after.count == len(actors) - 1
    assert after.actor_ids == tuple(reversed(actors))[1 : SAMPLE_ACTORS + 1]
    assert (await groups_of(notification_store, owner))[0].actor_ids == after.actor_ids


async def test_a_group_grows_while_unread_and_starts_anew_once_read(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob, cy = new_id(), new_id(), new_id(), new_id(), new_id()
    [first] = await notification_store.apply(liked(owner, tweet, ada), WINDOW, new_id)
    assert await notification_store.unread_count(owner, 100) == 1
    assert await notification_store.mark_read(owner, first.position) == first.position
    assert await notification_store.unread_count(owner, 100) == 0
    [second] = await notification_store.apply(
        liked(owner, tweet, bob, at_offset_s=1), WINDOW, new_id
    )
    assert second.id != first.id and second.actor_ids == (bob,)
    [grown] = await notification_store.apply(liked(owner, tweet, cy, at_offset_s=2), WINDOW, new_id)
    assert grown.id == second.id and grown.count == 2
    assert await notification_store.unread_count(owner, 100) == 1
    page = await groups_of(notification_store, owner)
    assert [(g.id, g.count) for g in page] == [(second.id, 2), (first.id, 1)]
    # An older actor leaving the read group leaves the new group alone.
    [left] = await notification_store.apply(unliked(owner, tweet, ada), WINDOW, new_id)
    assert left.id == first.id and left.count == 0
    assert [g.id for g in await groups_of(notification_store, owner)] == [second.id]


async def test_an_actor_after_the_window_starts_a_new_group(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, ada, bob = new_id(), new_id(), new_id(), new_id()
    window = timedelta(seconds=30)
    [first] = await notification_store.apply(
        liked(owner, tweet, ada, at_offset_s=-120), window, new_id
    )
    [second] = await notification_store.apply(liked(owner, tweet, bob), window, new_id)
    assert second.id != first.id
    assert [g.id for g in await groups_of(notification_store, owner)] == [second.id, first.id]


async def test_kinds_that_do_not_group_are_one_notification_each(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, ada, bob = new_id(), new_id(), new_id()
    mentions = [new_id(), new_id()]
    for actor, tweet in zip((ada, bob), mentions, strict=True):
        change = NotificationChange(
            owner, f"mention:{tweet}", "mention", tweet, added=((actor, utcnow()),)
        )
        await notification_store.apply(change, WINDOW, new_id)
    page = await groups_of(notification_store, owner)
    assert [(g.kind, g.subject_id, g.actor_ids) for g in page] == [
        ("mention", mentions[1], (bob,)),
        ("mention", mentions[0], (ada,)),
    ]


async def test_pages_run_newest_first_with_cursors_and_a_kinds_filter(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    made: list[NotificationGroup] = []
    for index in range(7):
        kind = "like" if index % 2 == 0 else "follow"
        base = f"like:{new_id()}" if kind == "like" else f"follow:{index}"
        change = NotificationChange(
            owner, base, kind, None, added=((new_id(), utcnow() + index * SECOND),)
        )
        made += await notification_store.apply(change, WINDOW, new_id)
    newest_first = [g.id for g in reversed(made)]
    first = await notification_store.page(owner, 3)
    assert [g.id for g in first] == newest_first[:3]
    rest = await notification_store.page(owner, 10, after=first[-1].position)
    assert [g.id for g in rest] == newest_first[3:]
    follows = await notification_store.page(owner, 10, kinds=["follow"])
    assert [g.id for g in follows] == [g.id for g in reversed(made) if g.kind == "follow"]
    assert await notification_store.page(owner, 10, kinds=[]) == []
    assert await notification_store.page(new_id(), 10) == []


async def test_the_read_marker_never_moves_back_and_the_count_is_capped(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    made: list[NotificationGroup] = []
    for index in range(5):
        made += await notification_store.apply(
            liked(owner, new_id(), new_id(), at_offset_s=index), WINDOW, new_id
        )
    assert await notification_store.read_marker(owner) is None
    assert await notification_store.unread_count(owner, 100) == 5
    assert await notification_store.unread_count(owner, 3) == 3
    assert await notification_store.mark_read(owner, made[2].position) == made[2].position
    assert await notification_store.unread_count(owner, 100) == 2
    assert await notification_store.mark_read(owner, made[0].position) == made[2].position
    assert await notification_store.read_marker(owner) == made[2].position
    assert await notification_store.unread_count(owner, 100) == 2


async def test_drop_removes_every_group_of_a_base(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet, other = new_id(), new_id(), new_id()
    [first] = await notification_store.apply(liked(owner, tweet, new_id()), WINDOW, new_id)
    await notification_store.mark_read(owner, first.position)
    await notification_store.apply(liked(owner, tweet, new_id(), at_offset_s=1), WINDOW, new_id)
    [kept] = await notification_store.apply(liked(owner, other, new_id()), WINDOW, new_id)
    dropped = await notification_store.drop(owner, f"like:{tweet}")
    assert len(dropped) == 2 and all(group.count == 0 for group in dropped)
    assert [g.id for g in await groups_of(notification_store, owner)] == [kept.id]
    assert await notification_store.drop(owner, f"like:{tweet}") == []
    # The base starts clean: an actor it had counts again.
    [again] = await notification_store.apply(liked(owner, tweet, new_id()), WINDOW, new_id)
    assert again.count == 1


async def test_concurrent_changes_on_one_base_all_land(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet = new_id(), new_id()
    actors = [new_id() for _ in range(40)]
    await asyncio.gather(
        *(notification_store.apply(liked(owner, tweet, actor), WINDOW, new_id) for actor in actors),
        *(
            notification_store.apply(liked(owner, tweet, actors[0]), WINDOW, new_id)
            for _ in range(5)
        ),
    )
    [group] = await groups_of(notification_store, owner)
    assert group.count == len(actors)
    await asyncio.gather(
        *(
            notification_store.apply(unliked(owner, tweet, actor), WINDOW, new_id)
            for actor in actors[:30]
        )
    )
    [group] = await groups_of(notification_store, owner)
    assert group.count == 10 and set(group.actor_ids) <= set(actors[30:])


async def test_many_actors_at_once_make_one_group_read_as_one_row(
    notification_store: NotificationStore, new_id: Callable[[], int]
) -> None:
    owner, tweet = new_id(), new_id()
    actors = [new_id() for _ in range(1_000)]
    at = utcnow()
    for start in range(0, len(actors), 250):
        added = tuple((actor, at + index * SECOND / 100) for index, actor in enumerate(actors))
        change = NotificationChange(
            owner, f"like:{tweet}", "like", tweet, added=added[start : start + 250]
        )
        await notification_store.apply(change, WINDOW, new_id)
    page = await notification_store.page(owner, 100)
    assert len(page) == 1 and page[0].count == 1_000
    assert page[0].actor_ids == tuple(reversed(actors))[:SAMPLE_ACTORS]
