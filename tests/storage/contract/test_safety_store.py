"""SafetyStore contract: a block is new once and shows both ways; mutes and muted words
report change once, take the newest expiry and stop counting once expired; relations are
read whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from storage.ports import SafetyStore
from storage.records import MutedWord, RelationEdge, Relations, utcnow

HOUR = timedelta(hours=1)


async def test_block_is_true_once_and_unblock_removes_it(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    at = utcnow()
    assert await safety_store.block(alice, bob, at) is True
    assert await safety_store.block(alice, bob, utcnow() + HOUR) is False
    assert await safety_store.blocks_page(alice, 10) == [RelationEdge(alice, bob, at)]
    assert await safety_store.unblock(alice, bob) is True
    assert await safety_store.unblock(alice, bob) is False
    assert await safety_store.blocks_page(alice, 10) == []
    assert await safety_store.relations(alice, utcnow()) == Relations()
    assert await safety_store.relations(bob, utcnow()) == Relations()


async def test_a_block_shows_both_ways_in_relations_but_is_one_way(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob, carol = new_id(), new_id(), new_id()
    await safety_store.block(alice, bob, utcnow())
    await safety_store.block(carol, bob, utcnow())
    assert await safety_store.relations(alice, utcnow()) == Relations(blocking=frozenset({bob}))
    assert await safety_store.relations(bob, utcnow()) == Relations(
        blocked_by=frozenset({alice, carol})
    )
    assert await safety_store.blocks_page(bob, 10) == []  # not in the blocked user's blocking
    await safety_store.block(bob, alice, utcnow())  # blocking back is a block of its own
    assert await safety_store.relations(alice, utcnow()) == Relations(
        blocking=frozenset({bob}), blocked_by=frozenset({bob})
    )
    await safety_store.unblock(alice, bob)
    assert await safety_store.relations(bob, utcnow()) == Relations(
        blocking=frozenset({alice}), blocked_by=frozenset({carol})
    )
    assert await safety_store.relations(alice, utcnow()) == Relations(blocked_by=frozenset({bob}))


async def test_concurrent_blocks_and_unblocks_each_have_one_true(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    blocks = await asyncio.gather(*(safety_store.block(alice, bob, utcnow()) for _ in range(20)))
    assert blocks.count(True) == 1
    unblocks = await asyncio.gather(*(safety_store.unblock(alice, bob) for _ in range(20)))
    assert unblocks.count(True) == 1
    assert await safety_store.relations(bob, utcnow()) == Relations()


async def test_blocks_page_is_ordered_by_the_blocked_id_strictly_after(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    blocker = new_id()
    blocked = [new_id() for _ in range(7)]
    for user in reversed(blocked):
        await safety_store.block(blocker, user, utcnow())
    seen: list[int] = []
    after = None
    while page := await safety_store.blocks_page(blocker, 3, after):
        assert all(edge.user_id == blocker and edge.expires_at is None for edge in page)
        seen += [edge.other_id for edge in page]
        after = page[-1].other_id
    assert seen == blocked
    assert [e.other_id for e in await safety_store.blocks_page(blocker, 10, blocked[2])] == (
        blocked[3:]
    )
    assert await safety_store.blocks_page(blocker, 0) == []


async def test_mutes_with_and_without_expiry(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob, carol = new_id(), new_id(), new_id()
    at = utcnow()
    assert await safety_store.mute(alice, bob, at, None) is True
    assert await safety_store.mute(alice, carol, at, at + HOUR) is True
    assert await safety_store.mutes_page(alice, 10) == [
        RelationEdge(alice, bob, at),
        RelationEdge(alice, carol, at, at + HOUR),
    ]
    assert await safety_store.relations(alice, utcnow()) == Relations(
        muting=frozenset({bob, carol})
    )
    later = at + 2 * HOUR  # carol's mute has expired by then
    assert await safety_store.relations(alice, later) == Relations(muting=frozenset({bob}))
    assert await safety_store.mutes_page(alice, 10, now=later) == [RelationEdge(alice, bob, at)]
    assert await safety_store.relations(bob, utcnow()) == Relations()  # mutes are one way


async def test_muting_again_takes_the_new_expiry(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    at = utcnow()
    assert await safety_store.mute(alice, bob, at, at + HOUR) is True
    assert await safety_store.mute(alice, bob, utcnow(), at + 3 * HOUR) is False
    # Muted since it was first muted, until the new expiry.
    assert await safety_store.mutes_page(alice, 10) == [RelationEdge(alice, bob, at, at + 3 * HOUR)]
    assert await safety_store.relations(alice, at + 2 * HOUR) == Relations(muting=frozenset({bob}))
    assert await safety_store.mute(alice, bob, utcnow(), at + HOUR / 2) is False  # sooner
    assert await safety_store.relations(alice, at + HOUR) == Relations()
    assert await safety_store.mute(alice, bob, utcnow(), None) is False  # for good
    assert await safety_store.relations(alice, at + 1000 * HOUR) == Relations(
        muting=frozenset({bob})
    )


async def test_an_expired_mute_counts_for_nothing(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob, carol = new_id(), new_id(), new_id()
    now = utcnow()
    assert await safety_store.mute(alice, bob, now - 2 * HOUR, now - HOUR) is True
    assert await safety_store.relations(alice, utcnow()) == Relations()
    assert await safety_store.mutes_page(alice, 10) == []
    assert await safety_store.unmute(alice, bob) is False
    assert await safety_store.mute(alice, bob, now, None) is True  # it was not muted
    # Muting again with an expiry already past ends the mute.
    assert await safety_store.mute(alice, bob, now - 2 * HOUR, now - HOUR) is False
    assert await safety_store.relations(alice, utcnow()) == Relations()
    assert await safety_store.unmute(alice, bob) is False
    # Expired mutes are skipped without cutting a page short.
    for user in (bob, carol):
        await safety_store.mute(alice, user, now, now + HOUR)
    await safety_store.mute(alice, new_id(), now, None)
    page = await safety_store.mutes_page(alice, 1, now=now + 2 * HOUR)
    assert len(page) == 1 and page[0].expires_at is None


async def test_a_mute_stops_counting_when_it_expires_while_stored(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    at = utcnow()
    # Long enough that the two lightweight transactions and the read finish before it on a
    # loaded machine (a TTL is whole seconds, rounded down).
    expires = at + timedelta(seconds=4)
    await safety_store.mute(alice, bob, at, expires)
    await safety_store.add_muted_word(alice, "soon", at, expires)
    relations = await safety_store.relations(alice, utcnow())
    assert relations.muting == {bob} and [w.word for w in relations.muted_words] == ["soon"]
    await asyncio.sleep(max(0.0, (expires - utcnow()).total_seconds()) + 0.1)
    assert await safety_store.relations(alice, utcnow()) == Relations()
    assert await safety_store.unmute(alice, bob) is False
    assert await safety_store.remove_muted_word(alice, "soon") is False


async def test_unmute_is_true_once(safety_store: SafetyStore, new_id: Callable[[], int]) -> None:
    alice, bob = new_id(), new_id()
    await safety_store.mute(alice, bob, utcnow(), utcnow() + HOUR)
    results = await asyncio.gather(*(safety_store.unmute(alice, bob) for _ in range(10)))
    assert results.count(True) == 1
    assert await safety_store.relations(alice, utcnow()) == Relations()
    assert await safety_store.mutes_page(alice, 10) == []


async def test_mutes_page_is_ordered_by_the_muted_id_strictly_after(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    muter = new_id()
    muted = [new_id() for _ in range(5)]
    for user in reversed(muted):
        await safety_store.mute(muter, user, utcnow(), None)
    first = await safety_store.mutes_page(muter, 2)
    assert [edge.other_id for edge in first] == muted[:2]
    rest = await safety_store.mutes_page(muter, 10, after=first[-1].other_id)
    assert [edge.other_id for edge in rest] == muted[2:]


async def test_muted_words_are_added_once_take_the_new_expiry_and_expire(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    alice = new_id()
    at = utcnow()
    assert await safety_store.add_muted_word(alice, "spoilers", at, None) is True
    assert await safety_store.add_muted_word(alice, "#finale", at, at + HOUR) is True
    assert await safety_store.add_muted_word(alice, "#finale", utcnow(), at + 3 * HOUR) is False
    assert await safety_store.add_muted_word(alice, "été", at, None) is True
    assert await safety_store.relations(alice, utcnow()) == Relations(
        muted_words=(
            MutedWord("#finale", at, at + 3 * HOUR),
            MutedWord("spoilers", at),
            MutedWord("été", at),
        )
    )
    later = await safety_store.relations(alice, at + 4 * HOUR)
    assert [word.word for word in later.muted_words] == ["spoilers", "été"]
    assert await safety_store.remove_muted_word(alice, "spoilers") is True
    assert await safety_store.remove_muted_word(alice, "spoilers") is False
    assert await safety_store.add_muted_word(alice, "gone", at - 2 * HOUR, at - HOUR) is True
    assert await safety_store.remove_muted_word(alice, "gone") is False  # had expired
    assert [w.word for w in (await safety_store.relations(alice, utcnow())).muted_words] == [
        "#finale",
        "été",
    ]
    assert (await safety_store.relations(new_id(), utcnow())).muted_words == ()


async def test_relations_of_a_user_with_none_are_empty(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    assert await safety_store.relations(new_id(), utcnow()) == Relations()


async def test_relations_hold_every_block_of_a_user_with_thousands(
    safety_store: SafetyStore, new_id: Callable[[], int]
) -> None:
    """More rows than any adapter reads at once."""
    blocker = new_id()
    blocked = [new_id() for _ in range(2_000)]
    at = utcnow()
    for start in range(0, len(blocked), 200):
        chunk = blocked[start : start + 200]
        assert all(await asyncio.gather(*(safety_store.block(blocker, b, at) for b in chunk)))
    relations = await safety_store.relations(blocker, utcnow())
    assert relations.blocking == frozenset(blocked)
    assert relations.blocked_by == frozenset()
    assert (await safety_store.relations(blocked[1_500], utcnow())).blocked_by == {blocker}
