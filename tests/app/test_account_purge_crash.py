"""kill -9 in the middle of an account purge, on both profiles: `chirp lifecycle run` is
killed once it has purged part of a deleted account (1,000 followers and 100 tweets liked by
them, 300 and 25 on the real engines, and its own likes); nothing is half-visible (the
account stays hidden, no count is corrected twice); run again, it finishes with every count
exact and everything gone."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.lifecycle.accounts import PURGE_LEASE_S
from storage.records import LifecycleKind, TimelineKind, UserRecord, utcnow
from tests.resolvers.test_notifications import settled
from tests.support.cli import chirp_command, chirp_env, run_chirp
from tests.support.client import GraphQLClient, running_app
from tests.support.profiles import PROFILES, settings_on, unique

PASSWORD = "correct horse battery"
# The victim's followers: on the embedded default the second kill must land while they are
# being removed one by one, so there are enough of them for that to last a second or more.
FOLLOWERS = {"embedded": 1000, "engines": 300}
# The victim's tweets: enough that the embedded default's fast purge of them lasts longer
# than a few polls of a busy machine, so the kill lands in the middle of it.
TWEETS = {"embedded": 100, "engines": 25}  # under the 120 mutations a minute, with the rest
LIKED = 5  # the victim's likes of another account's tweets
DELETE = "mutation($p: String!) { deleteAccount(password: $p) }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
PROFILE = "query($u: String!) { user(username: $u) { id } }"
# Steps of other parts stay out of the way: nothing of this test is warm or cold.
QUIET = {"CHIRP_HOT_S": str(10 * 365 * 86400), "CHIRP_COLD_S": str(20 * 365 * 86400)}


@pytest.fixture(params=PROFILES)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, GraphQLClient]]:
    settings = settings_on(request.param, tmp_path)
    settings = settings.with_overrides(
        lifecycle=replace(settings.lifecycle, account_purge_s=1.0, every_s=0.0)
    )
    with running_app(settings) as client:
        yield settings, client


def call(client: GraphQLClient, make: Any) -> Any:
    async def run() -> Any:
        return await make()

    return client.http.portal.call(run)


def stores(client: GraphQLClient) -> Any:
    return client.http.app.state.chirp.stores  # type: ignore[attr-defined]


def make_followers(client: GraphQLClient, victim: int, count: int) -> list[int]:
    """`count` accounts following the victim, written through the stores (signing each up
    over GraphQL would hash as many passwords)."""
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    now = utcnow()
    names = [f"f_{secrets.token_hex(6)}" for _ in range(count)]  # a thousand never collide
    users = [
        UserRecord(
            id=chirp.ids.next_id(),
            username=name,
            email=f"{name}@example.com",
            password_hash="not-a-hash",
            display_name="follower",
            created_at=now,
            updated_at=now,
        )
        for name in names
    ]
    ids = [user.id for user in users]

    async def write() -> None:
        s = stores(client)
        for user in users:
            await s.users.create(user)
        added = await s.graph.follow_many([(f, victim) for f in ids], now)
        assert all(added)
        await s.users.add_to_stats_many(
            {victim: {"followers_count": count}} | {f: {"following_count": 1} for f in ids}
        )

    call(client, write)
    return ids


def test_a_killed_purge_leaves_nothing_half_visible_and_the_next_run_finishes(
    setup: tuple[Any, GraphQLClient],
) -> None:
    settings, client = setup
    profile = "embedded" if settings.users_url.startswith("sqlite") else "engines"
    total, following = TWEETS[profile], FOLLOWERS[profile]
    victim_auth, star_auth = client.sign_up(unique("victim")), client.sign_up(unique("star"))
    victim, star = int(victim_auth["user"]["databaseId"]), int(star_auth["user"]["databaseId"])
    v, s = victim_auth["accessToken"], star_auth["accessToken"]
    client.follow(v, star_auth["user"]["id"])
    starred = [client.post_tweet(s, f"star {i}") for i in range(LIKED)]
    for tweet in starred:
        client.data(LIKE, {"id": tweet["id"]}, v)
    followers = make_followers(client, victim, following)
    tweets = [int(client.post_tweet(v, f"victim {i}")["databaseId"]) for i in range(total)]

    async def fans_like() -> None:  # each follower likes one of the victim's tweets
        for i, fan in enumerate(followers):
            assert await stores(client).engagement.like(fan, tweets[i % total], utcnow())
            await stores(client).users.add_to_stats(fan, {"likes_count": 1})

    call(client, fans_like)
    settled(client)
    client.data(DELETE, {"p": PASSWORD}, v)
    time.sleep(1.2)  # the purge window (1 s) is over

    def authored() -> int:
        async def page() -> Any:
            return await stores(client).timelines.page(TimelineKind.AUTHOR, victim, 1000)

        return len(call(client, page))

    def kept() -> int:
        """The victim's tweets still in the tweet store."""
        found = call(client, lambda: stores(client).tweets.get_many(tweets))
        return sum(tweet is not None for tweet in found)

    def lease_lapses() -> None:
        """A killed pass's lease on the account (in the shared cache) lapses."""
        if stores(client).cache.shared:
            time.sleep(PURGE_LEASE_S)

    def followed() -> int:
        """The victim's followers still in the graph."""
        return len(call(client, lambda: stores(client).graph.followers_page(victim, 5000)))

    def still_hidden() -> Any:
        [row] = call(client, lambda: stores(client).users.get_many([victim]))
        assert row is not None and row.deactivated_at is not None
        assert client.data(PROFILE, {"u": row.username}, s)["user"] is None
        return row

    # Killed while purging its tweets, then again while removing its followers: each time
    # the account is still there and hidden, and no count is corrected twice.
    kill_when(settings, lambda: 0 < kept() < total)
    assert 0 < kept() < total
    row = still_hidden()
    assert_counts_follow_the_graph(client, victim, star, followers)
    lease_lapses()
    kill_when(settings, lambda: followed() < following)  # as soon as they start to go
    assert kept() == 0 and followed() < following
    still_hidden()
    assert_counts_follow_the_graph(client, victim, star, followers)

    lease_lapses()
    done = run_chirp(settings, "lifecycle", "run", **QUIET)
    assert done.returncode == 0, done.stderr
    assert "purge_accounts:" in done.stdout

    # Everything gone, every count exact.
    assert call(client, lambda: stores(client).users.get_many([victim])) == [None]
    assert call(client, lambda: stores(client).users.find_by_username(row.username)) is None
    assert authored() == 0
    assert call(client, lambda: stores(client).tweets.get_many(tweets)) == [None] * total
    assert call(client, lambda: stores(client).graph.followers_page(victim, 10)) == []
    assert call(client, lambda: stores(client).graph.following_page(victim, 10)) == []
    assert call(client, lambda: stores(client).engagement.likes_page(victim, 10)) == []
    fans = call(client, lambda: stores(client).users.get_stats_many(followers))
    assert {(f.following_count, f.likes_count) for f in fans} == {(0, 0)}, done.stdout
    [star_stats] = call(client, lambda: stores(client).users.get_stats_many([star]))
    assert star_stats.followers_count == 0
    counts = call(
        client,
        lambda: stores(client).engagement.counts_many([int(t["databaseId"]) for t in starred]),
    )
    assert {c.likes for c in counts} == {0}
    homes = call(
        client,
        lambda: stores(client).timelines.page(TimelineKind.HOME, followers[0], 100),
    )
    assert [e for e in homes if e.author_id == victim] == []


def kill_when(settings: Any, ready: Any) -> None:
    """Run `chirp lifecycle run` and kill -9 it as soon as `ready()`."""
    process = subprocess.Popen(
        chirp_command("lifecycle", "run"),
        env=chirp_env(settings, **QUIET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert process.poll() is None, "the pass ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL


def assert_counts_follow_the_graph(
    client: GraphQLClient, victim: int, star: int, followers: list[int]
) -> None:
    """Each follower's following_count is 1 while its edge to the victim stands and 0 once
    removed (never -1: corrected once); the one edge a kill caught between its removal and
    its correction still counts 1, with its correction pending (a marker the next pass
    settles). The same for the star's followers."""

    async def read() -> tuple[list[bool], list[Any], Any, list[bool]]:
        s = stores(client)
        edges = await s.graph.is_following_many([(f, victim) for f in followers])
        stats = await s.users.get_stats_many(followers)
        [star_stats] = await s.users.get_stats_many([star])
        pending = [
            await s.lifecycle.get(LifecycleKind.FOLLOWING_DOWN, f, victim) is not None
            for f in followers
        ]
        return edges, stats, star_stats, pending

    edges, stats, star_stats, pending = call(client, read)
    counted = [st.following_count for st in stats]
    assert [c - int(e or p) for c, e, p in zip(counted, edges, pending, strict=True)] == [0] * len(
        followers
    )
    assert sum(pending) <= 1
    [victim_follows] = call(
        client, lambda: stores(client).graph.is_following_many([(victim, star)])
    )
    assert star_stats.followers_count == int(victim_follows)
