"""Blocks, mutes and muted words, as users meet them, on both profiles."""

from __future__ import annotations

import json
import secrets
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.records import TimelineKind
from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

BLOCK = "mutation($id: ID!) { block(userId: $id) { username viewerBlocks blocksViewer } }"
UNBLOCK = "mutation($id: ID!) { unblock(userId: $id) { username viewerBlocks } }"
MUTE = "mutation($id: ID!, $s: Int) { mute(userId: $id, expiresIn: $s) { viewerMutes } }"
UNMUTE = "mutation($id: ID!) { unmute(userId: $id) { viewerMutes } }"
ADD_WORD = "mutation($w: String!, $s: Int) { addMutedWord(word: $w, expiresIn: $s) { word } }"
REMOVE_WORD = "mutation($w: String!) { removeMutedWord(word: $w) { word } }"
PROFILE = """query($name: String!) { user(username: $name) {
  username viewerBlocks blocksViewer viewerFollows followsViewer followersCount followingCount
  tweets { edges { node { text } } } likes { edges { node { text } } }
  followers { edges { node { follower { username } } } }
  following { edges { node { followee { username } } } } } }"""
TWEET = "query($id: ID!) { tweet(id: $id) { text } }"
SEARCH = "query($q: String!) { search(query: $q) { edges { node { text } } } }"
ME_LISTS = """{ me { blocked { edges { since node { username } } }
  muted { edges { expiresAt node { username } } } mutedWords { word expiresAt } } }"""


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def _texts(timeline: dict[str, Any]) -> list[str]:
    return [edge["node"]["text"] for edge in timeline["edges"]]


def _people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def test_a_block_ends_follows_and_hides_each_side_from_the_other(client: GraphQLClient) -> None:
    word = f"blk{secrets.token_hex(3)}"
    alice, bob, carol = _people(client, "alice", "bob", "carol")
    a, b, c = alice["accessToken"], bob["accessToken"], carol["accessToken"]
    alice_name, bob_name = alice["user"]["username"], bob["user"]["username"]
    client.follow(a, bob["user"]["id"])
    client.follow(b, alice["user"]["id"])
    client.follow(a, carol["user"]["id"])
    by_bob = client.post_tweet(b, f"{word} from bob")
    by_alice = client.post_tweet(a, f"{word} from alice")
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": by_bob["id"]}, c)
    client.data("mutation($id: ID!) { likeTweet(id: $id) { id } }", {"id": by_bob["id"]}, a)
    eventually(lambda: f"{word} from bob" in str(client.home(a)))

    blocked = client.data(BLOCK, {"id": bob["user"]["id"]}, a)["block"]
    assert blocked == {"username": bob_name, "viewerBlocks": True, "blocksViewer": False}
    again = client.data(BLOCK, {"id": bob["user"]["id"]}, a)["block"]  # a retry: no change
    assert again["viewerBlocks"] is True

    # Follows ended both ways, with their counts; the profile still answers, saying so.
    seen_by_alice = client.data(PROFILE, {"name": bob_name}, a)["user"]
    assert seen_by_alice["viewerBlocks"] is True and seen_by_alice["blocksViewer"] is False
    assert seen_by_alice["viewerFollows"] is False and seen_by_alice["followsViewer"] is False
    assert seen_by_alice["followersCount"] == 0 and seen_by_alice["followingCount"] == 0
    for connection in ("tweets", "likes", "followers", "following"):
        assert seen_by_alice[connection]["edges"] == [], connection
    seen_by_bob = client.data(PROFILE, {"name": alice_name}, b)["user"]
    assert seen_by_bob["blocksViewer"] is True and seen_by_bob["viewerBlocks"] is False
    assert seen_by_bob["tweets"]["edges"] == [] and seen_by_bob["likes"]["edges"] == []

    # Each side's tweets, and retweets of them, leave the other's home timeline at once;
    # then the queued clean-up takes them out of the stored timelines too.
    assert f"{word} from bob" not in str(client.home(a))
    assert f"{word} from alice" not in str(client.home(b))
    timelines = client.http.app.state.chirp.stores.timelines

    async def stored_home(owner: dict[str, Any]) -> set[int]:
        entries = await timelines.page(TimelineKind.HOME, int(owner["user"]["databaseId"]), 50)
        return {entry.author_id for entry in entries}

    alice_id, bob_id = int(alice["user"]["databaseId"]), int(bob["user"]["databaseId"])
    eventually(lambda: bob_id not in client.http.portal.call(stored_home, alice))
    eventually(lambda: alice_id not in client.http.portal.call(stored_home, bob))
    assert client.data(TWEET, {"id": by_bob["id"]}, a)["tweet"] is None
    assert client.data(TWEET, {"id": by_alice["id"]}, b)["tweet"] is None
    assert client.data(TWEET, {"id": by_bob["id"]}, c)["tweet"] is not None  # others: as before
    eventually(lambda: len(client.data(SEARCH, {"q": word}, c)["search"]["edges"]) == 2)
    assert _texts(client.data(SEARCH, {"q": word}, a)["search"]) == [f"{word} from alice"]
    assert _texts(client.data(SEARCH, {"q": word}, b)["search"]) == [f"{word} from bob"]

    # Bob can no longer follow, like, retweet, reply to or quote Alice.
    assert client.error_code(
        "mutation($id: ID!) { follow(userId: $id) { status } }", {"id": alice["user"]["id"]}, b
    ) == "BLOCKED"  # fmt: skip
    for action in ("likeTweet", "retweet"):
        query = f"mutation($id: ID!) {{ {action}(id: $id) {{ id }} }}"
        assert client.error_code(query, {"id": by_alice["id"]}, b) == "NOT_FOUND"
    for link in ("replyToId", "quoteOfId"):
        answer = client.post(
            "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }",
            {"i": {"text": "hey", link: by_alice["id"]}},
            b,
        )
        assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # A mention of Alice does not reach her.
    mentioning = client.post_tweet(b, f"hello @{alice_name}")
    mentions = client.data(
        "query($id: ID!) { tweet(id: $id) { mentions { username } } }",
        {"id": mentioning["id"]},
        c,
    )
    assert mentions["tweet"]["mentions"] == []

    lists = client.data(ME_LISTS, token=a)["me"]
    assert [e["node"]["username"] for e in lists["blocked"]["edges"]] == [bob_name]

    # Unblocking shows each to the other again; the ended follows stay ended.
    assert client.data(UNBLOCK, {"id": bob["user"]["id"]}, a)["unblock"]["viewerBlocks"] is False
    assert client.data(TWEET, {"id": by_bob["id"]}, a)["tweet"] == {"text": f"{word} from bob"}
    profile = client.data(PROFILE, {"name": bob_name}, a)["user"]
    assert profile["viewerFollows"] is False and profile["followsViewer"] is False
    assert client.data(ME_LISTS, token=a)["me"]["blocked"]["edges"] == []


def test_a_mute_keeps_an_account_out_of_feeds_but_not_out_of_reach(
    client: GraphQLClient,
) -> None:
    word = f"mut{secrets.token_hex(3)}"
    alice, bob, carol = _people(client, "alice", "bob", "carol")
    a, b, c = alice["accessToken"], bob["accessToken"], carol["accessToken"]
    client.follow(a, bob["user"]["id"])
    client.follow(a, carol["user"]["id"])
    tweet = client.post_tweet(b, f"{word} by bob")
    client.data("mutation($id: ID!) { retweet(id: $id) { id } }", {"id": tweet["id"]}, c)
    client.post_tweet(c, f"{word} by carol")
    eventually(lambda: len(client.home(a)["edges"]) == 3)
    # Both indexed (Alice wrote neither, so her search has only what the index holds).
    eventually(lambda: len(client.data(SEARCH, {"q": word}, a)["search"]["edges"]) == 2)

    assert client.data(MUTE, {"id": bob["user"]["id"]}, a)["mute"]["viewerMutes"] is True
    assert _texts(client.home(a)) == [f"{word} by carol"]  # bob's tweet and its retweet: gone
    assert _texts(client.data(SEARCH, {"q": word}, a)["search"]) == [f"{word} by carol"]
    # Still reachable by id and on the profile; still followed.
    assert client.data(TWEET, {"id": tweet["id"]}, a)["tweet"] == {"text": f"{word} by bob"}
    profile = client.data(PROFILE, {"name": bob["user"]["username"]}, a)["user"]
    assert _texts(profile["tweets"]) == [f"{word} by bob"] and profile["viewerFollows"] is True
    muted = client.data(ME_LISTS, token=a)["me"]["muted"]["edges"]
    assert [(e["node"]["username"], e["expiresAt"]) for e in muted] == [
        (bob["user"]["username"], None)
    ]

    assert client.data(UNMUTE, {"id": bob["user"]["id"]}, a)["unmute"]["viewerMutes"] is False
    assert len(client.home(a)["edges"]) == 3

    # A mute for a while ends by itself.
    client.data(MUTE, {"id": bob["user"]["id"], "s": 2}, a)
    assert len(client.home(a)["edges"]) == 1
    time.sleep(2.5)
    assert len(client.home(a)["edges"]) == 3
    assert client.data(ME_LISTS, token=a)["me"]["muted"]["edges"] == []


def test_muted_words_hide_whole_words_in_any_case_and_form(client: GraphQLClient) -> None:
    alice, bob = _people(client, "alice", "bob")
    a, b = alice["accessToken"], bob["accessToken"]
    client.follow(a, bob["user"]["id"])
    decomposed = unicodedata.normalize("NFD", "café")
    texts = [
        "Coffee time",
        "I need #coffee",
        "COFFEE!",
        "the coffeehouse opens",  # not the whole word
        f"a {decomposed} au lait",  # NFD in the tweet, NFC in the muted word
        "green #tea",
        "tea for two",  # "#tea" mutes the hashtag only
    ]
    for text in texts:
        client.post_tweet(b, text)
    eventually(lambda: len(client.home(a)["edges"]) == len(texts))

    for muted in ("coffee", "CAFÉ", "#tea"):
        client.data(ADD_WORD, {"w": muted}, a)
    assert sorted(_texts(client.home(a))) == ["tea for two", "the coffeehouse opens"]
    teas = f"from:{bob['user']['username']} tea"
    eventually(lambda: len(client.data(SEARCH, {"q": teas})["search"]["edges"]) == 2)  # indexed
    assert _texts(client.data(SEARCH, {"q": teas}, a)["search"]) == ["tea for two"]
    words = client.data(ME_LISTS, token=a)["me"]["mutedWords"]
    assert [w["word"] for w in words] == ["#tea", "café", "coffee"]

    left = client.data(REMOVE_WORD, {"w": "Coffee"}, a)["removeMutedWord"]
    assert [w["word"] for w in left] == ["#tea", "café"]
    assert len(client.home(a)["edges"]) == 5

    client.data(ADD_WORD, {"w": "green", "s": 2}, a)
    assert "green #tea" not in str(client.home(a))
    time.sleep(2.5)
    assert [w["word"] for w in client.data(ME_LISTS, token=a)["me"]["mutedWords"]] == [
        "#tea",
        "café",
    ]


def test_bad_input_gets_a_code_and_changes_nothing(client: GraphQLClient) -> None:
    alice, bob = _people(client, "alice", "bob")
    a = alice["accessToken"]
    me = alice["user"]["id"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        (BLOCK, {"id": me}, "BAD_USER_INPUT"),
        (MUTE, {"id": me}, "BAD_USER_INPUT"),
        (BLOCK, {"id": "VXNlcjo5OTk5OTk5OTk5"}, "NOT_FOUND"),  # User:9999999999
        (BLOCK, {"id": "not an id"}, "BAD_USER_INPUT"),
        (MUTE, {"id": bob["user"]["id"], "s": 0}, "BAD_USER_INPUT"),
        (MUTE, {"id": bob["user"]["id"], "s": -5}, "BAD_USER_INPUT"),
        (ADD_WORD, {"w": ""}, "BAD_USER_INPUT"),
        (ADD_WORD, {"w": "   "}, "BAD_USER_INPUT"),
        (ADD_WORD, {"w": "x" * 101}, "BAD_USER_INPUT"),
        (ADD_WORD, {"w": "!!!"}, "BAD_USER_INPUT"),
        (ADD_WORD, {"w": "bad\u0000word"}, "BAD_USER_INPUT"),
    ]
    for query, variables, code in cases:
        assert client.error_code(query, variables, a) == code, (query, variables)
    assert client.error_code(BLOCK, {"id": bob["user"]["id"]}) == "UNAUTHENTICATED"
    someone_else = """query($name: String!) { user(username: $name) {
      blocked { edges { node { username } } } } }"""
    name = bob["user"]["username"]
    assert client.error_code(someone_else, {"name": name}, a) == "FORBIDDEN"
    lists = client.data(ME_LISTS, token=a)["me"]
    assert lists == {"blocked": {"edges": []}, "muted": {"edges": []}, "mutedWords": []}


def test_muted_accounts_and_words_stay_out_of_the_live_timeline(client: GraphQLClient) -> None:
    alice, bob, carol = _people(client, "alice", "bob", "carol")
    a = alice["accessToken"]
    for followed in (bob, carol):
        client.follow(a, followed["user"]["id"])
    client.data(MUTE, {"id": bob["user"]["id"]}, a)
    client.data(ADD_WORD, {"w": "spoiler"}, a)
    with client.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_text(json.dumps({"type": "connection_init", "payload": {"token": a}}))
        assert json.loads(ws.receive_text())["type"] == "connection_ack"
        query = "subscription { homeTimeline { tweet { text } } }"
        ws.send_text(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": query}}))
        client.post_tweet(bob["accessToken"], "from a muted account")
        client.post_tweet(carol["accessToken"], "a SPOILER about the end")
        client.post_tweet(carol["accessToken"], "this one arrives")
        while (message := json.loads(ws.receive_text()))["type"] == "ping":
            ws.send_text(json.dumps({"type": "pong"}))
        # The first event delivered is the third tweet: the muted two were never sent.
        assert message["payload"]["data"]["homeTimeline"]["tweet"] == {"text": "this one arrives"}
