"""FollowGraph contract: follow / unfollow report change once, both directions agree,
pages are ordered by the other user's id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from storage.ports import FollowGraph
from storage.records import FollowEdge, utcnow


async def test_follow_is_true_once_and_shows_on_both_sides(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    at = utcnow()
    assert await follow_graph.follow(alice, bob, at) is True
    assert await follow_graph.follow(alice, bob, utcnow()) is False
    assert await follow_graph.following_page(alice, 10) == [FollowEdge(alice, bob, at)]
    assert await follow_graph.followers_page(bob, 10) == [FollowEdge(bob, alice, at)]
    assert await follow_graph.followers_page(alice, 10) == []


async def test_fifty_concurrent_duplicate_follows_have_one_true(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    results = await asyncio.gather(*(follow_graph.follow(alice, bob, utcnow()) for _ in range(50)))
    assert results.count(True) == 1
    assert len(await follow_graph.followers_page(bob, 100)) == 1


async def test_follow_many_says_which_edges_are_new_and_shows_them_on_both_sides(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    alice, bob, carol, dave = (new_id() for _ in range(4))
    earlier = utcnow() - timedelta(minutes=1)
    await follow_graph.follow(alice, bob, earlier)
    at = utcnow()
    edges = [(alice, bob), (alice, carol), (bob, carol), (alice, carol), (carol, alice)]
    assert await follow_graph.follow_many(edges, at) == [False, True, True, False, True]
    assert await follow_graph.follow_many(edges, utcnow()) == [False] * 5
    assert await follow_graph.follow_many([], at) == []
    assert await follow_graph.following_page(alice, 10) == [
        FollowEdge(alice, bob, earlier),
        FollowEdge(alice, carol, at),
    ]
    assert await follow_graph.followers_page(carol, 10) == sorted(
        [FollowEdge(carol, alice, at), FollowEdge(carol, bob, at)], key=lambda e: e.other_id
    )
    assert await follow_graph.followers_page(alice, 10) == [FollowEdge(alice, carol, at)]
    pairs = [(alice, carol), (carol, bob), (dave, alice)]
    assert await follow_graph.is_following_many(pairs) == [True, False, False]


async def test_follow_many_of_many_edges_per_follower_and_followee(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    """More edges per follower and per followee than any adapter writes in one batch."""
    star, fan = new_id(), new_id()
    others = [new_id() for _ in range(130)]
    await follow_graph.follow(fan, others[70], utcnow())
    edges = [(fan, other) for other in others] + [(other, star) for other in others]
    answers = await follow_graph.follow_many(edges, utcnow())
    assert answers == [other != others[70] for other in others] + [True] * len(others)
    following, followers = [], []
    after = None
    while page := await follow_graph.following_page(fan, 50, after):
        following += [edge.other_id for edge in page]
        after = page[-1].other_id
    after = None
    while page := await follow_graph.followers_page(star, 50, after):
        followers += [edge.other_id for edge in page]
        after = page[-1].other_id
    assert following == followers == sorted(others)


async def test_concurrent_follow_many_and_follow_count_each_edge_once(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    star = new_id()
    fans = [new_id() for _ in range(20)]
    edges = [(fan, star) for fan in fans]
    results = await asyncio.gather(
        *(follow_graph.follow_many(edges, utcnow()) for _ in range(5)),
        *(follow_graph.follow(fan, star, utcnow()) for fan in fans),
    )
    batches, singles = results[:5], results[5:]
    for n in range(len(fans)):  # each edge new exactly once, whoever wrote it
        assert sum(batch[n] for batch in batches) + singles[n] == 1
    assert len(await follow_graph.followers_page(star, 100)) == len(fans)


async def test_unfollow_is_true_once_and_clears_both_sides(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    await follow_graph.follow(alice, bob, utcnow())
    results = await asyncio.gather(*(follow_graph.unfollow(alice, bob) for _ in range(5)))
    assert results.count(True) == 1
    assert await follow_graph.following_page(alice, 10) == []
    assert await follow_graph.followers_page(bob, 10) == []
    assert await follow_graph.unfollow(alice, bob) is False


async def test_follow_is_one_way(follow_graph: FollowGraph, new_id: Callable[[], int]) -> None:
    alice, bob = new_id(), new_id()
    await follow_graph.follow(alice, bob, utcnow())
    assert await follow_graph.is_following_many([(alice, bob), (bob, alice)]) == [True, False]


async def test_pages_are_ordered_by_the_other_id_strictly_after(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    star = new_id()
    fans = [new_id() for _ in range(7)]
    for fan in reversed(fans):
        await follow_graph.follow(fan, star, utcnow())
        await follow_graph.follow(star, fan, utcnow())
    for page_of in (follow_graph.followers_page, follow_graph.following_page):
        seen: list[int] = []
        after = None
        while page := await page_of(star, 3, after):
            assert all(edge.user_id == star for edge in page)
            seen += [edge.other_id for edge in page]
            after = page[-1].other_id
        assert seen == sorted(fans)
        assert [e.other_id for e in await page_of(star, 10, fans[2])] == sorted(fans)[3:]


async def test_is_following_many_keeps_order(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    users = [new_id() for _ in range(4)]
    await follow_graph.follow(users[0], users[1], utcnow())
    await follow_graph.follow(users[2], users[3], utcnow())
    pairs = [(users[2], users[3]), (users[0], users[2]), (users[0], users[1]), (users[0], users[1])]
    assert await follow_graph.is_following_many(pairs) == [True, False, True, True]
    assert await follow_graph.is_following_many([]) == []


async def test_is_following_many_of_many_pairs(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    reader = new_id()
    followed = [new_id() for _ in range(5)]
    for user in followed:
        await follow_graph.follow(reader, user, utcnow())
    strangers = [new_id() for _ in range(700)]
    pairs = [(reader, user) for user in [*strangers, *followed]]
    assert await follow_graph.is_following_many(pairs) == [False] * 700 + [True] * 5


async def test_requests_are_pending_until_withdrawn_and_not_edges(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    owner, first, second = new_id(), new_id(), new_id()
    at = utcnow()
    assert await follow_graph.request(first, owner, at) is True
    assert await follow_graph.request(first, owner, utcnow()) is False
    assert await follow_graph.request(second, owner, at) is True
    pending = await follow_graph.requests_page(owner, 10)
    assert [edge.other_id for edge in pending] == sorted([first, second])
    assert pending[0] == FollowEdge(owner, min(first, second), at)
    assert await follow_graph.requests_page(owner, 10, after=min(first, second)) == pending[1:]
    assert await follow_graph.has_requested_many([(first, owner), (owner, first)]) == [True, False]
    assert await follow_graph.is_following_many([(first, owner)]) == [False]
    assert await follow_graph.followers_page(owner, 10) == []
    assert await follow_graph.withdraw_request(first, owner) is True
    assert await follow_graph.withdraw_request(first, owner) is False
    assert await follow_graph.has_requested_many([(first, owner), (second, owner)]) == [False, True]


async def test_concurrent_withdrawals_have_one_winner(
    follow_graph: FollowGraph, new_id: Callable[[], int]
) -> None:
    owner, asker = new_id(), new_id()
    await follow_graph.request(asker, owner, utcnow())
    tries = (follow_graph.withdraw_request(asker, owner) for _ in range(20))
    results = await asyncio.gather(*tries)
    assert results.count(True) == 1
