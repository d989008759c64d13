"""Grace-period deletes, as users meet them, on both profiles (issue #18, item 1): a deleted
tweet vanishes at once but its author lists it and may restore it, as it was, for the grace
period; once that is over a lifecycle pass purges it from every store, and nothing before
the boundary is touched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.services.media import media_id_of
from storage import clock
from storage.records import LifecycleKind
from tests.resolvers.test_moderation import chirp_users
from tests.resolvers.test_notifications import settled
from tests.support.cli import run_chirp
from tests.support.client import GraphQLClient, eventually, running_app
from tests.support.lifecycle import chirp, run_pass
from tests.support.profiles import PROFILES, app_on, settings_on, unique

DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
RESTORE = "mutation($id: ID!) { restoreTweet(id: $id) { id text likeCount replyCount } }"
DELETED = """query($first: Int!, $after: String) { me { deletedTweets(first: $first, after: $after)
  { edges { cursor node { deletedAt purgeAt tweet { id text } } }
    pageInfo { hasNextPage endCursor } } } }"""
THEIR_DELETED = """query($n: String!) { user(username: $n) {
  deletedTweets { edges { node { tweet { id } } } } } }"""
TWEET = "query($id: ID!) { tweet(id: $id) { id text likeCount replyCount } }"
PROFILE = """query($n: String!) { user(username: $n) { tweetsCount likesCount
  tweets { edges { node { id } } } } }"""
SEARCH = "query($q: String!) { search(query: $q) { edges { node { id } } } }"
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
DAY = timedelta(days=1)


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def _run_pass(client: GraphQLClient) -> dict[str, int]:
    return dict(run_pass(client)["purge_tweets"])


def _people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def _deleted(client: GraphQLClient, token: str, first: int = 20) -> list[dict[str, Any]]:
    """Every listed deleted tweet, following the pages."""
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = client.data(DELETED, {"first": first, "after": after}, token)["me"]
        page = page["deletedTweets"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def _ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def _profile(client: GraphQLClient, person: dict[str, Any], token: str) -> dict[str, Any]:
    return client.data(PROFILE, {"n": person["user"]["username"]}, token)["user"]


def test_a_deleted_tweet_is_listed_and_restored_as_it_was(client: GraphQLClient) -> None:
    alice, bob, carol = _people(client, "alice", "bob", "carol")
    a, b, c = (p["accessToken"] for p in (alice, bob, carol))
    client.follow(b, alice["user"]["id"])
    word = unique("grace")
    before = client.post_tweet(a, "before")["id"]
    target = client.post_tweet(a, f"{word} the one")["id"]
    client.post_tweet(b, "bob answers", replyToId=target)
    after = client.post_tweet(a, "after")["id"]
    client.data(LIKE, {"id": target}, c)
    settled(client)
    eventually(lambda: _ids(client.data(SEARCH, {"q": word}, b)["search"]) == [target])
    homes = {who: _ids(client.home(token)) for who, token in (("alice", a), ("bob", b))}
    assert homes["alice"][:3] == [after, target, before]
    counts = client.data(TWEET, {"id": target}, a)["tweet"]
    assert (counts["likeCount"], counts["replyCount"]) == (1, 1)
    profile = _profile(client, alice, a)

    assert client.data(DELETE, {"id": target}, a)["deleteTweet"] == target
    settled(client)
    [listed] = _deleted(client, a)
    assert listed["tweet"] == {"id": target, "text": f"{word} the one"}
    deleted_at = datetime.fromisoformat(listed["deletedAt"])
    assert datetime.fromisoformat(listed["purgeAt"]) - deleted_at == timedelta(days=30)
    for token in (a, b):
        assert client.data(TWEET, {"id": target}, token)["tweet"] is None
        assert target not in _ids(client.home(token))
        assert target not in _ids(_profile(client, alice, token)["tweets"])
    assert _profile(client, alice, a)["tweetsCount"] == profile["tweetsCount"] - 1
    eventually(lambda: client.data(SEARCH, {"q": word}, b)["search"]["edges"] == [])

    # Nobody else lists or restores it; a live or unknown tweet is no deleted tweet.
    theirs = {"n": alice["user"]["username"]}
    assert client.error_code(THEIR_DELETED, theirs, b) == "FORBIDDEN"
    assert client.error_code(RESTORE, {"id": target}, b) == "FORBIDDEN"
    assert client.error_code(RESTORE, {"id": before}, a) == "NOT_FOUND"
    assert client.error_code(RESTORE, {"id": "9" * 15}, a) == "NOT_FOUND"
    assert client.data(TWEET, {"id": target}, b)["tweet"] is None

    restored = client.data(RESTORE, {"id": target}, a)["restoreTweet"]
    assert restored == {**counts, "text": f"{word} the one"}
    settled(client)
    assert _deleted(client, a) == []
    assert client.data(TWEET, {"id": target}, b)["tweet"] == counts
    assert {who: _ids(client.home(token)) for who, token in (("alice", a), ("bob", b))} == homes
    assert _profile(client, alice, a) == profile
    eventually(lambda: _ids(client.data(SEARCH, {"q": word}, b)["search"]) == [target])
    assert client.error_code(RESTORE, {"id": target}, a) == "NOT_FOUND"  # once


def test_the_listing_pages_newest_deletion_first(client: GraphQLClient) -> None:
    [alice] = _people(client, "alice")
    token = alice["accessToken"]
    tweets = [client.post_tweet(token, f"number {n}")["id"] for n in range(5)]
    for tweet in tweets:
        client.data(DELETE, {"id": tweet}, token)
    retweeted = client.post_tweet(token, "retweeted")["id"]
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": retweeted}, token)
    settled(client)
    home = client.home(token, fields="retweetOf { id }")["edges"]
    [retweet] = [edge["node"]["id"] for edge in home if edge["node"]["retweetOf"]]
    client.data(DELETE, {"id": retweet}, token)  # purged in time, but never listed
    nodes = _deleted(client, token, first=2)
    assert [node["tweet"]["id"] for node in nodes] == tweets[::-1]
    assert [node["tweet"]["id"] for node in _deleted(client, token, first=5)] == tweets[::-1]
    assert client.error_code(RESTORE, {"id": retweet}, token) == "NOT_FOUND"


def test_past_its_grace_a_tweet_cannot_be_restored(client: GraphQLClient) -> None:
    [alice] = _people(client, "alice")
    token = alice["accessToken"]
    posted = client.post_tweet(token, "soon gone")
    tweet = posted["id"]
    client.data(DELETE, {"id": tweet}, token)
    clock.travel(29 * DAY)
    assert [node["tweet"]["id"] for node in _deleted(client, token)] == [tweet]
    clock.travel(2 * DAY)
    assert _deleted(client, token) == []
    assert client.error_code(RESTORE, {"id": tweet}, token) == "GRACE_PERIOD_OVER"
    assert client.data(TWEET, {"id": tweet}, token)["tweet"] is None  # nothing changed
    tweets = chirp(client).stores.tweets
    [stored] = client.http.portal.call(tweets.get_many, [int(posted["databaseId"])])
    assert stored is not None and stored.is_deleted


def _stored_media(client: GraphQLClient, owner: dict[str, Any], name: str) -> str:
    key = f"media/{owner['user']['databaseId']}/{name}.png"
    media = chirp(client).stores.media
    client.http.portal.call(media.put, key, b"\x89PNG picture", "image/png")
    return key


def test_the_purge_takes_what_is_past_the_grace_and_nothing_before(
    client: GraphQLClient, request: pytest.FixtureRequest
) -> None:
    """Deleted 31 and 29 days before the pass: the first is purged from every store (its
    like taken back from the liker's count, its media gone), the second stays restorable;
    a second pass finds nothing to do."""
    alice, carol = _people(client, "alice", "carol")
    a, c = alice["accessToken"], carol["accessToken"]
    app = chirp(client)
    call = client.http.portal.call
    keys = [_stored_media(client, alice, unique(name)) for name in ("old", "young")]
    old, young = (
        client.post_tweet(a, text, mediaIds=[media_id_of(key)])["databaseId"]
        for text, key in zip(("old one", "young one"), keys, strict=True)
    )
    for tweet in (old, young):
        client.data(LIKE, {"id": tweet}, c)
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": old}, c)
    carols = _profile(client, carol, c)
    liked = carols["likesCount"]
    client.data(DELETE, {"id": old}, a)
    clock.travel(2 * DAY)
    client.data(DELETE, {"id": young}, a)
    settled(client)
    clock.travel(29 * DAY)  # the old one deleted 31 days ago, the young one 29

    report = _run_pass(client)
    exact = request.node.callspec.params["client"] == "embedded"  # engines are shared
    assert report["purged"] == 1 if exact else report["purged"] >= 1
    old_record, young_record = call(app.stores.tweets.get_many, [int(old), int(young)])
    assert old_record is None and young_record is not None and young_record.is_deleted
    assert call(app.stores.engagement.likers_page, int(old), 10) == []
    assert [e.user_id for e in call(app.stores.engagement.likers_page, int(young), 10)] == [
        int(carol["user"]["databaseId"])
    ]
    assert call(app.stores.media.head, keys[0]) is None
    assert call(app.stores.media.head, keys[1]) is not None
    owner = int(alice["user"]["databaseId"])
    assert call(app.stores.lifecycle.get, LifecycleKind.TWEET, owner, int(old)) is None
    assert _profile(client, carol, c)["likesCount"] == liked - 1
    assert _profile(client, carol, c)["tweetsCount"] == carols["tweetsCount"] - 1  # her retweet
    assert call(app.stores.engagement.retweeters_page, int(old), 10) == []
    assert [node["tweet"]["databaseId"] for node in _deleted_ids(client, a)] == [young]

    again = _run_pass(client)
    if exact:
        assert again == {}
    assert _profile(client, carol, c)["likesCount"] == liked - 1
    restored = client.data(RESTORE, {"id": young}, a)["restoreTweet"]
    assert restored["likeCount"] == 1


def _deleted_ids(client: GraphQLClient, token: str) -> list[dict[str, Any]]:
    query = "{ me { deletedTweets { edges { node { tweet { databaseId } } } } } }"
    edges = client.data(query, token=token)["me"]["deletedTweets"]["edges"]
    return [edge["node"] for edge in edges]


@pytest.mark.parametrize("profile", PROFILES)
def test_chirp_lifecycle_run_purges_what_is_due(profile: str, tmp_path: Path) -> None:
    base = settings_on(profile, tmp_path)
    settings = base.with_overrides(lifecycle=replace(base.lifecycle, tweet_grace_s=1.0))
    with running_app(settings) as client:
        [alice] = _people(client, "alice")
        token = alice["accessToken"]
        gone, kept = (client.post_tweet(token, text)["databaseId"] for text in ("gone", "kept"))
        client.data(DELETE, {"id": gone}, token)
        settled(client)
        asyncio.run(asyncio.sleep(1.2))
        done = run_chirp(settings, "lifecycle", "run")
        assert done.returncode == 0, done.stderr
        [line] = [x for x in done.stdout.splitlines() if x.startswith("purge_tweets:")]
        if profile == "embedded":
            assert line == "purge_tweets: 1 purged"
        else:
            assert " purged" in line
        stores = client.http.app.state.chirp.stores  # type: ignore[attr-defined]
        found = client.http.portal.call(stores.tweets.get_many, [int(gone), int(kept)])
        assert found[0] is None and found[1] is not None and not found[1].is_deleted


def test_a_moderator_removal_is_neither_listed_restorable_nor_purged(
    client: GraphQLClient,
) -> None:
    bob, mod, alice = _people(client, "bob", "mod", "alice")
    b, m = bob["accessToken"], mod["accessToken"]
    posted = client.post_tweet(b, "against the rules")
    report = """mutation($id: ID!) { reportTweet(id: $id, reason: SPAM, comment: "") }"""
    client.data(report, {"id": posted["id"]}, alice["accessToken"])
    assert chirp_users(client, "grant", "moderator", mod["user"]["username"]).returncode == 0
    remove = """mutation($t: ID!) { resolveReports(targetId: $t, action: REMOVE_TWEET,
      note: "spam") { action } }"""
    client.data(remove, {"t": posted["id"]}, m)
    assert _deleted(client, b) == []
    assert client.error_code(RESTORE, {"id": posted["id"]}, b) == "NOT_FOUND"
    clock.travel(31 * DAY)
    _run_pass(client)
    tweets = chirp(client).stores.tweets
    [kept] = client.http.portal.call(tweets.get_many, [int(posted["databaseId"])])
    assert kept is not None and kept.is_deleted  # the moderation log's evidence
