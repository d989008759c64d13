"""Bookmarks and pinned tweets, as users meet them, on both profiles: bookmarks are newest
first and private to their owner, read through the policy, and undone idempotently; a pin
is one's own original tweet, shown on the profile to those who may see it. Refused
actions answer with a stable code and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.profiles import PROFILES, app_on, unique
from tests.support.suspension import suspend

BOOKMARK = "mutation($id: ID!) { bookmark(id: $id) { id text viewerHasBookmarked } }"
UNBOOKMARK = "mutation($id: ID!) { unbookmark(id: $id) { id text viewerHasBookmarked } }"
BOOKMARKS = """query($first: Int!, $after: String) { me { bookmarks(first: $first, after: $after) {
  edges { cursor node { text viewerHasBookmarked } } pageInfo { hasNextPage endCursor } } } }"""
THEIR_BOOKMARKS = """query($n: String!) { user(username: $n) {
  bookmarks { edges { node { text } } } } }"""
FLAG = "query($id: ID!) { tweet(id: $id) { viewerHasBookmarked } }"
PIN = "mutation($id: ID!) { pinTweet(id: $id) { username pinnedTweet { id text } } }"
UNPIN = "mutation { unpinTweet { username pinnedTweet { id } } }"
PINNED = "query($n: String!) { user(username: $n) { pinnedTweet { id text } } }"
RETWEET = "mutation($id: ID!) { retweet(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
UNFOLLOW = "mutation($id: ID!) { unfollow(userId: $id) { status } }"
PROTECT = "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { status } }"
OWN_TWEETS = "query($n: String!) { user(username: $n) { tweets { edges { node { id } } } } }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def _people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def _bookmarks(client: GraphQLClient, token: str, first: int = 20) -> list[str]:
    """Every bookmark's text, following the pages."""
    texts: list[str] = []
    after = None
    while True:
        page = client.data(BOOKMARKS, {"first": first, "after": after}, token)["me"]["bookmarks"]
        assert all(edge["node"]["viewerHasBookmarked"] for edge in page["edges"])
        texts += [edge["node"]["text"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return texts
        after = page["pageInfo"]["endCursor"]


def test_bookmarks_are_newest_first_private_and_undone_idempotently(
    client: GraphQLClient,
) -> None:
    reader, author, other = _people(client, "reader", "author", "other")
    r = reader["accessToken"]
    tweets = [client.post_tweet(author["accessToken"], f"keep {n}")["id"] for n in range(5)]
    assert client.data(BOOKMARKS, {"first": 5}, r)["me"]["bookmarks"]["edges"] == []
    for tweet in (tweets[2], tweets[0], tweets[4], tweets[1]):
        marked = client.data(BOOKMARK, {"id": tweet}, r)["bookmark"]
        assert marked["id"] == tweet and marked["viewerHasBookmarked"] is True
    client.data(BOOKMARK, {"id": tweets[2]}, r)  # again: keeps its first place
    assert _bookmarks(client, r, first=3) == ["keep 1", "keep 4", "keep 0", "keep 2"]
    assert _bookmarks(client, r, first=1) == ["keep 1", "keep 4", "keep 0", "keep 2"]
    assert client.data(FLAG, {"id": tweets[3]}, r)["tweet"]["viewerHasBookmarked"] is False

    # Private: no one else reads them, nor can tell what is bookmarked.
    name = reader["user"]["username"]
    assert client.error_code(THEIR_BOOKMARKS, {"n": name}, other["accessToken"]) == "FORBIDDEN"
    assert client.error_code(THEIR_BOOKMARKS, {"n": name}) == "UNAUTHENTICATED"
    for token in (other["accessToken"], author["accessToken"], None):
        assert client.data(FLAG, {"id": tweets[0]}, token)["tweet"]["viewerHasBookmarked"] is False
    assert _bookmarks(client, other["accessToken"]) == []

    # Undone once, then again with nothing to undo, and for a tweet never bookmarked.
    for _ in range(2):
        undone = client.data(UNBOOKMARK, {"id": tweets[4]}, r)["unbookmark"]
        assert undone == {"id": tweets[4], "text": "keep 4", "viewerHasBookmarked": False}
    assert client.data(UNBOOKMARK, {"id": tweets[3]}, r)["unbookmark"]["id"] == tweets[3]
    assert _bookmarks(client, r) == ["keep 1", "keep 0", "keep 2"]

    # A retweet stands for the tweet it retweets.
    client.data(RETWEET, {"id": tweets[3]}, other["accessToken"])
    [retweet, *_] = client.data(OWN_TWEETS, {"n": other["user"]["username"]}, r)["user"]["tweets"][
        "edges"
    ]
    assert client.data(BOOKMARK, {"id": retweet["node"]["id"]}, r)["bookmark"]["id"] == tweets[3]
    assert _bookmarks(client, r)[0] == "keep 3"
    assert client.data(UNBOOKMARK, {"id": retweet["node"]["id"]}, r)["unbookmark"] == {
        "id": tweets[3], "text": "keep 3", "viewerHasBookmarked": False
    }  # fmt: skip


def test_bookmarks_go_through_the_policy(client: GraphQLClient) -> None:
    reader, fine, gone, blocker, quiet, susp = _people(
        client, "reader", "fine", "gone", "blocker", "quiet", "susp"
    )
    r = reader["accessToken"]
    client.data(PROTECT, token=quiet["accessToken"])
    client.follow(r, quiet["user"]["id"])
    client.data(APPROVE, {"id": reader["user"]["id"]}, quiet["accessToken"])
    made = {
        who["user"]["username"]: client.post_tweet(who["accessToken"], f"by {n}")["id"]
        for n, who in enumerate((fine, gone, blocker, quiet, susp))
    }
    for tweet in made.values():
        client.data(BOOKMARK, {"id": tweet}, r)
    assert _bookmarks(client, r) == ["by 4", "by 3", "by 2", "by 1", "by 0"]

    client.data(DELETE, {"id": made[gone["user"]["username"]]}, gone["accessToken"])
    client.data(BLOCK, {"id": reader["user"]["id"]}, blocker["accessToken"])
    client.data(UNFOLLOW, {"id": quiet["user"]["id"]}, r)
    suspend(client, susp["user"]["databaseId"])
    assert _bookmarks(client, r) == ["by 0"]
    assert _bookmarks(client, r, first=1) == ["by 0"]  # pages scan past what is hidden

    # What the reader may not see cannot be bookmarked, and nothing is stored; a hidden
    # tweet's bookmark can still be removed (answering null for the tweet).
    hidden = made[quiet["user"]["username"]]
    fresh = client.post_tweet(quiet["accessToken"], "after the unfollow")["id"]
    for tweet in (fresh, made[blocker["user"]["username"]]):
        assert client.error_code(BOOKMARK, {"id": tweet}, r) == "NOT_FOUND"
    assert client.data(UNBOOKMARK, {"id": hidden}, r)["unbookmark"] is None
    client.follow(r, quiet["user"]["id"])
    client.data(APPROVE, {"id": reader["user"]["id"]}, quiet["accessToken"])
    assert _bookmarks(client, r) == ["by 0"]  # the fresh one was never stored; by 3 removed


def test_bookmark_input_is_checked(client: GraphQLClient) -> None:
    [reader] = _people(client, "reader")
    r = reader["accessToken"]
    for query in (BOOKMARK, UNBOOKMARK):
        assert client.error_code(query, {"id": "not an id"}, r) == "BAD_USER_INPUT"
        assert client.error_code(query, {"id": "1"}) == "UNAUTHENTICATED"
    assert client.error_code(BOOKMARK, {"id": str(2**62)}, r) == "NOT_FOUND"
    assert client.data(UNBOOKMARK, {"id": str(2**62)}, r)["unbookmark"] is None
    bad_cursor = client.post(BOOKMARKS, {"first": 5, "after": "nope"}, r)
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    too_many = client.post(BOOKMARKS, {"first": 101}, r)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert _bookmarks(client, r) == []


def test_a_pinned_tweet_shows_on_the_profile_to_those_who_may_see_it(
    client: GraphQLClient,
) -> None:
    owner, fan, stranger, foe = _people(client, "owner", "fan", "stranger", "foe")
    o = owner["accessToken"]
    name = owner["user"]["username"]
    first = client.post_tweet(o, "first pin")["id"]
    second = client.post_tweet(o, "second pin")["id"]
    assert client.data(PINNED, {"n": name})["user"]["pinnedTweet"] is None

    pinned = client.data(PIN, {"id": first}, o)["pinTweet"]
    assert pinned == {"username": name, "pinnedTweet": {"id": first, "text": "first pin"}}
    assert client.data(PINNED, {"n": name}, stranger["accessToken"])["user"]["pinnedTweet"] == {
        "id": first, "text": "first pin"
    }  # fmt: skip
    assert client.data(PIN, {"id": second}, o)["pinTweet"]["pinnedTweet"]["id"] == second
    assert client.data(PINNED, {"n": name})["user"]["pinnedTweet"]["id"] == second

    # Protected: only approved followers (and the owner) see it; a block hides it both ways.
    client.follow(fan["accessToken"], owner["user"]["id"])
    client.data(PROTECT, token=o)
    client.data(BLOCK, {"id": foe["user"]["id"]}, o)
    for token in (None, stranger["accessToken"], foe["accessToken"]):
        assert client.data(PINNED, {"n": name}, token)["user"]["pinnedTweet"] is None
    for token in (o, fan["accessToken"]):
        assert client.data(PINNED, {"n": name}, token)["user"]["pinnedTweet"]["id"] == second

    # A deleted pinned tweet shows as null; unpinning is idempotent.
    client.data(DELETE, {"id": second}, o)
    assert client.data(PINNED, {"n": name}, o)["user"]["pinnedTweet"] is None
    for _ in range(2):
        assert client.data(UNPIN, token=o)["unpinTweet"] == {"username": name, "pinnedTweet": None}


def test_only_ones_own_original_tweet_can_be_pinned(client: GraphQLClient) -> None:
    owner, other, quiet = _people(client, "owner", "other", "quiet")
    o = owner["accessToken"]
    name = owner["user"]["username"]
    mine = client.post_tweet(o, "mine")["id"]
    theirs = client.post_tweet(other["accessToken"], "theirs")["id"]
    client.data(PROTECT, token=quiet["accessToken"])
    hidden = client.post_tweet(quiet["accessToken"], "hidden")["id"]
    client.data(RETWEET, {"id": theirs}, o)
    [retweet, _] = client.data(OWN_TWEETS, {"n": name}, o)["user"]["tweets"]["edges"]
    deleted = client.post_tweet(o, "deleted")["id"]
    client.data(DELETE, {"id": deleted}, o)
    client.data(PIN, {"id": mine}, o)

    refused = {
        theirs: "FORBIDDEN",
        hidden: "NOT_FOUND",  # someone else's that the pinner may not see: as if missing
        deleted: "NOT_FOUND",
        str(2**62): "NOT_FOUND",
        retweet["node"]["id"]: "BAD_USER_INPUT",
        "nope": "BAD_USER_INPUT",
    }
    for tweet, code in refused.items():
        assert client.error_code(PIN, {"id": tweet}, o) == code, tweet
    assert client.error_code(PIN, {"id": mine}) == "UNAUTHENTICATED"
    assert client.error_code(UNPIN) == "UNAUTHENTICATED"
    assert client.data(PINNED, {"n": name})["user"]["pinnedTweet"] == {"id": mine, "text": "mine"}
