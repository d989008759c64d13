"""Notifications as users meet them, on both profiles: every kind, grouping, exactly once
under repeats and undo, the read policy, preferences, the unread count and bad input."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.jobs import STREAMS
from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

NOTIFICATIONS = """query($first: Int, $after: String, $kinds: [NotificationKind!]) {
  notifications(first: $first, after: $after, kinds: $kinds) {
    edges { cursor node { kind count unread latestAt actors { username } tweet { text } } }
    pageInfo { hasNextPage endCursor } } }"""
UNREAD = "{ unreadNotificationsCount }"
MARK_READ = "mutation($c: String) { markNotificationsRead(upTo: $c) }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlikeTweet(id: $id) { id } }"
RETWEET = "mutation($id: ID!) { retweet(id: $id) { id } }"
UNDO_RETWEET = "mutation($id: ID!) { undoRetweet(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { status } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { status } }"
SETTINGS = """mutation($i: UpdateSettingsInput!) { updateSettings(input: $i) {
  notificationPreferences { like } } }"""
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
MUTE = "mutation($id: ID!) { mute(userId: $id) { id } }"
PROTECT = "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def listed(client: GraphQLClient, token: str, **variables: Any) -> list[dict[str, Any]]:
    found = client.data(NOTIFICATIONS, {"first": 50, **variables}, token)["notifications"]
    return [edge["node"] for edge in found["edges"]]


def summary(client: GraphQLClient, token: str, **variables: Any) -> list[tuple[Any, ...]]:
    """(kind, count, actors) of each notification, newest first."""
    return [
        (n["kind"], n["count"], tuple(a["username"] for a in n["actors"]))
        for n in listed(client, token, **variables)
    ]


def settled(client: GraphQLClient) -> None:
    """Wait until every queued job has run, so what did not happen is known not to."""
    stores = client.http.app.state.stores  # type: ignore[attr-defined]

    async def backlog() -> int:
        found = await asyncio.gather(*(stores.queues.stream(s).backlog() for s in STREAMS))
        return sum(b.jobs for b in found)

    eventually(lambda: client.http.portal.call(backlog) == 0, timeout_s=15)


def name(person: dict[str, Any]) -> str:
    return str(person["user"]["username"])


def test_every_kind_reaches_its_recipient(client: GraphQLClient) -> None:
    ada, bob, cy, dee = people(client, "ada", "bob", "cy", "dee")
    a, b, c, d = (p["accessToken"] for p in (ada, bob, cy, dee))
    tweet = client.post_tweet(a, "hello from ada")
    client.data(LIKE, {"id": tweet["id"]}, b)
    client.data(RETWEET, {"id": tweet["id"]}, c)
    client.follow(b, ada["user"]["id"])
    client.post_tweet(b, "a reply", replyToId=tweet["id"])
    client.post_tweet(c, "a quote", quoteOfId=tweet["id"])
    client.data(PROTECT, {}, d)
    client.follow(a, dee["user"]["id"])  # a request to a protected account
    client.data(APPROVE, {"id": ada["user"]["id"]}, d)
    client.post_tweet(d, f"hi @{name(ada)}")  # protected, and ada now follows dee
    expected = {
        ("like", 1, (name(bob),)),
        ("retweet", 1, (name(cy),)),
        ("follow", 1, (name(bob),)),
        ("reply", 1, (name(bob),)),
        ("quote", 1, (name(cy),)),
        ("mention", 1, (name(dee),)),
        ("follow_request_approved", 1, (name(dee),)),
    }
    wanted = {(k.upper(), n, w) for k, n, w in expected}
    eventually(lambda: set(summary(client, a)) == wanted)
    # The request reached dee, and was withdrawn from her list once she answered it.
    settled(client)
    assert summary(client, d) == []
    texts = {n["kind"]: (n["tweet"] or {}).get("text") for n in listed(client, a)}
    assert texts["LIKE"] == texts["RETWEET"] == "hello from ada"
    assert texts["REPLY"] == "a reply" and texts["QUOTE"] == "a quote"
    assert texts["FOLLOW"] is None
    assert client.data(UNREAD, {}, a)["unreadNotificationsCount"] == len(expected)


def test_a_pending_request_notifies_and_cancelling_it_withdraws_it(client: GraphQLClient) -> None:
    ada, bob = people(client, "ada", "bob")
    client.data(PROTECT, {}, ada["accessToken"])
    client.follow(bob["accessToken"], ada["user"]["id"])
    wanted = [("FOLLOW_REQUEST", 1, (name(bob),))]
    eventually(lambda: summary(client, ada["accessToken"]) == wanted)
    client.data(UNFOLLOW, {"id": ada["user"]["id"]}, bob["accessToken"])
    eventually(lambda: summary(client, ada["accessToken"]) == [])


def test_likes_group_while_unread_and_a_new_group_starts_once_read(client: GraphQLClient) -> None:
    owner, *likers = people(client, "owner", "l1", "l2", "l3", "l4")
    o = owner["accessToken"]
    tweet = client.post_tweet(o, "popular")
    for liker in likers[:3]:
        client.data(LIKE, {"id": tweet["id"]}, liker["accessToken"])
    eventually(lambda: [(k, n) for k, n, _ in summary(client, o)] == [("LIKE", 3)])
    [group] = listed(client, o)
    assert {a["username"] for a in group["actors"]} == {name(p) for p in likers[:3]}
    assert group["unread"] is True and group["tweet"] == {"text": "popular"}
    assert client.data(UNREAD, {}, o)["unreadNotificationsCount"] == 1
    cursor = client.data(NOTIFICATIONS, {"first": 1}, o)["notifications"]["edges"][0]["cursor"]
    assert client.data(MARK_READ, {"c": cursor}, o)["markNotificationsRead"] == 0
    assert listed(client, o)[0]["unread"] is False
    client.data(LIKE, {"id": tweet["id"]}, likers[3]["accessToken"])
    eventually(lambda: len(summary(client, o)) == 2)
    assert summary(client, o) == [("LIKE", 1, (name(likers[3]),)), summary(client, o)[1]]
    assert [n["unread"] for n in listed(client, o)] == [True, False]
    assert client.data(UNREAD, {}, o)["unreadNotificationsCount"] == 1
    assert client.data(MARK_READ, {}, o)["markNotificationsRead"] == 0


def test_repeats_and_undo_never_duplicate_and_undo_withdraws(client: GraphQLClient) -> None:
    owner, fan, other = people(client, "owner", "fan", "other")
    o, f = owner["accessToken"], fan["accessToken"]
    tweet = client.post_tweet(o, "like me")
    for query in (LIKE, LIKE, UNLIKE, LIKE, RETWEET, RETWEET, UNDO_RETWEET, RETWEET):
        client.data(query, {"id": tweet["id"]}, f)
    client.data(LIKE, {"id": tweet["id"]}, other["accessToken"])
    settled(client)
    assert sorted((k, n, frozenset(who)) for k, n, who in summary(client, o)) == [
        ("LIKE", 2, frozenset({name(fan), name(other)})),
        ("RETWEET", 1, frozenset({name(fan)})),
    ]
    client.data(UNLIKE, {"id": tweet["id"]}, f)
    client.data(UNDO_RETWEET, {"id": tweet["id"]}, f)
    eventually(lambda: summary(client, o) == [("LIKE", 1, (name(other),))])
    client.data(UNLIKE, {"id": tweet["id"]}, other["accessToken"])
    eventually(lambda: summary(client, o) == [])
    assert client.data(UNREAD, {}, o)["unreadNotificationsCount"] == 0


def test_deleting_a_tweet_withdraws_what_it_caused_and_what_was_about_it(
    client: GraphQLClient,
) -> None:
    ada, bob = people(client, "ada", "bob")
    a, b = ada["accessToken"], bob["accessToken"]
    mention = client.post_tweet(b, f"hey @{name(ada)}")
    own = client.post_tweet(a, "mine")
    client.data(LIKE, {"id": own["id"]}, b)
    eventually(lambda: {k for k, _, _ in summary(client, a)} == {"MENTION", "LIKE"})
    client.data(DELETE, {"id": mention["id"]}, b)
    eventually(lambda: [k for k, _, _ in summary(client, a)] == ["LIKE"])
    client.data(DELETE, {"id": own["id"]}, a)
    eventually(lambda: summary(client, a) == [])


def test_policy_protected_blocked_muted_and_muted_words_produce_nothing(
    client: GraphQLClient,
) -> None:
    word = f"spoiler{secrets.token_hex(2)}"
    ada, locked, blocked, muted, wordy, fine = people(
        client, "ada", "locked", "blocked", "muted", "wordy", "fine"
    )
    a = ada["accessToken"]
    target = client.post_tweet(a, "reply to me")
    client.data(PROTECT, {}, locked["accessToken"])
    client.data(BLOCK, {"id": blocked["user"]["id"]}, a)
    client.data(MUTE, {"id": muted["user"]["id"]}, a)
    client.data("mutation($w: String!) { addMutedWord(word: $w) { word } }", {"w": word}, a)
    # A protected author's reply reaches no one who does not follow them.
    client.post_tweet(locked["accessToken"], "locked reply", replyToId=target["id"])
    client.post_tweet(blocked["accessToken"], f"@{name(ada)} from a blocked account")
    client.data(LIKE, {"id": target["id"]}, muted["accessToken"])
    client.post_tweet(wordy["accessToken"], f"@{name(ada)} {word} ahead")
    client.data(LIKE, {"id": target["id"]}, fine["accessToken"])
    settled(client)
    assert summary(client, a) == [("LIKE", 1, (name(fine),))]
    # Once ada follows the protected account (approved), its replies reach her.
    client.follow(a, locked["user"]["id"])
    client.data(APPROVE, {"id": ada["user"]["id"]}, locked["accessToken"])
    client.post_tweet(locked["accessToken"], "second locked reply", replyToId=target["id"])
    eventually(lambda: ("REPLY", 1, (name(locked),)) in summary(client, a))
    # Blocking an actor later hides what they caused before.
    client.data(BLOCK, {"id": fine["user"]["id"]}, a)
    assert ("LIKE", 1, (name(fine),)) not in summary(client, a)


def test_a_kind_turned_off_produces_nothing(client: GraphQLClient) -> None:
    ada, bob = people(client, "ada", "bob")
    a = ada["accessToken"]
    off = client.data(SETTINGS, {"i": {"notificationPreferences": {"like": False}}}, a)
    assert off["updateSettings"]["notificationPreferences"] == {"like": False}
    tweet = client.post_tweet(a, "no likes please")
    client.data(LIKE, {"id": tweet["id"]}, bob["accessToken"])
    client.follow(bob["accessToken"], ada["user"]["id"])
    eventually(lambda: summary(client, a) == [("FOLLOW", 1, (name(bob),))])
    settled(client)
    assert summary(client, a) == [("FOLLOW", 1, (name(bob),))]


def test_pages_cursors_and_the_kinds_filter(client: GraphQLClient) -> None:
    owner, *fans = people(client, "owner", "f1", "f2", "f3")
    o = owner["accessToken"]
    tweets = [client.post_tweet(o, f"tweet {i}") for i in range(3)]
    for fan, tweet in zip(fans, tweets, strict=True):
        client.data(LIKE, {"id": tweet["id"]}, fan["accessToken"])
    client.follow(fans[0]["accessToken"], owner["user"]["id"])
    eventually(lambda: len(summary(client, o)) == 4)
    first = client.data(NOTIFICATIONS, {"first": 3}, o)["notifications"]
    assert first["pageInfo"]["hasNextPage"] is True and len(first["edges"]) == 3
    rest = client.data(NOTIFICATIONS, {"first": 3, "after": first["pageInfo"]["endCursor"]}, o)
    assert len(rest["notifications"]["edges"]) == 1
    assert rest["notifications"]["pageInfo"]["hasNextPage"] is False
    everything = [e["node"]["latestAt"] for e in first["edges"]] + [
        e["node"]["latestAt"] for e in rest["notifications"]["edges"]
    ]
    assert everything == sorted(everything, reverse=True)
    assert [k for k, _, _ in summary(client, o, kinds=["FOLLOW"])] == ["FOLLOW"]
    assert len(summary(client, o, kinds=["LIKE", "MENTION"])) == 3


def test_bad_input_gets_a_stable_code_and_changes_nothing(client: GraphQLClient) -> None:
    ada, bob = people(client, "ada", "bob")
    a, b = ada["accessToken"], bob["accessToken"]
    tweet = client.post_tweet(a, "x")
    client.data(LIKE, {"id": tweet["id"]}, b)
    bobs_tweet = client.post_tweet(b, "y")
    client.data(LIKE, {"id": bobs_tweet["id"]}, a)
    eventually(lambda: summary(client, a) and summary(client, b))
    bobs_cursor = client.data(NOTIFICATIONS, {"first": 1}, b)["notifications"]["edges"][0]
    for cursor in ("garbage", "dDoxOjI=", bobs_cursor["cursor"]):
        assert client.error_code(MARK_READ, {"c": cursor}, a) == "BAD_USER_INPUT"
        assert client.error_code(NOTIFICATIONS, {"after": cursor}, a) == "BAD_USER_INPUT"
    assert client.error_code(NOTIFICATIONS, {"kinds": ["POKE"]}, a) == "BAD_USER_INPUT"
    assert client.error_code(NOTIFICATIONS, {"first": 0}, a) == "BAD_USER_INPUT"
    assert client.error_code(UNREAD, {}, None) == "UNAUTHENTICATED"
    assert client.data(UNREAD, {}, a)["unreadNotificationsCount"] == 1
    assert listed(client, a)[0]["unread"] is True
