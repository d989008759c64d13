"""A user's mentions and a hashtag's tweets, on both profiles, newest first and through the
read policy."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique

MENTIONS = """query($first: Int, $after: String) { me { mentions(first: $first, after: $after) {
  edges { node { text } } pageInfo { hasNextPage endCursor } } } }"""
OTHERS_MENTIONS = """query($name: String!) { user(username: $name) {
  mentions { edges { cursor } } } }"""
HASHTAG = """query($tag: String!, $first: Int, $after: String) {
  hashtag(tag: $tag, first: $first, after: $after) {
    edges { node { text } } pageInfo { hasNextPage endCursor } } }"""
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
MUTE = "mutation($id: ID!) { mute(userId: $id) { id } }"
PROTECT = "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def texts(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["text"] for edge in connection["edges"]]


def mentions(client: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    return dict(client.data(MENTIONS, variables, token)["me"]["mentions"])


def test_mentions_are_the_viewers_own_newest_first_through_the_policy(
    client: GraphQLClient,
) -> None:
    ada, bob, cy, dee = (client.sign_up(unique(n)) for n in ("ada", "bob", "cy", "dee"))
    a, name = ada["accessToken"], ada["user"]["username"]
    first = client.post_tweet(bob["accessToken"], f"hello @{name}")
    client.post_tweet(cy["accessToken"], f"@{name} and @{bob['user']['username']}")
    client.post_tweet(dee["accessToken"], f"@{name} from dee")
    client.post_tweet(a, f"talking to myself @{name}")  # one's own tweet is not a mention
    client.post_tweet(bob["accessToken"], "no mention here")
    page = mentions(client, a, first=2)
    assert texts(page) == [f"@{name} from dee", f"@{name} and @{bob['user']['username']}"]
    rest = mentions(client, a, first=2, after=page["pageInfo"]["endCursor"])
    assert texts(rest) == [f"hello @{name}"] and rest["pageInfo"]["hasNextPage"] is False
    # Only for the user themself.
    others = client.data(OTHERS_MENTIONS, {"name": name}, bob["accessToken"])
    assert others["user"]["mentions"] is None
    # Deleted, blocked and muted mentions leave.
    client.data(DELETE, {"id": first["id"]}, bob["accessToken"])
    client.data(BLOCK, {"id": cy["user"]["id"]}, a)
    client.data(MUTE, {"id": dee["user"]["id"]}, a)
    assert texts(mentions(client, a)) == []


def test_a_hashtag_lists_its_tweets_newest_first_through_the_policy(
    client: GraphQLClient,
) -> None:
    tag = f"tag{secrets.token_hex(3)}"
    ada, bob, locked, reader = (
        client.sign_up(unique(n)) for n in ("ada", "bob", "locked", "reader")
    )
    client.data(PROTECT, {}, locked["accessToken"])
    client.post_tweet(ada["accessToken"], f"first #{tag}")
    client.post_tweet(bob["accessToken"], f"second #{tag.upper()} too")
    client.post_tweet(locked["accessToken"], f"protected #{tag}")
    client.post_tweet(bob["accessToken"], f"#{tag}x is another tag")
    r = reader["accessToken"]
    wanted = [f"second #{tag.upper()} too", f"first #{tag}"]
    eventually(lambda: texts(client.data(HASHTAG, {"tag": tag}, r)["hashtag"]) == wanted)
    for spelled in (f"#{tag}", tag.upper()):
        assert texts(client.data(HASHTAG, {"tag": spelled}, r)["hashtag"]) == wanted
    page = client.data(HASHTAG, {"tag": tag, "first": 1}, r)["hashtag"]
    assert texts(page) == wanted[:1] and page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = client.data(HASHTAG, {"tag": tag, "first": 5, "after": after}, r)["hashtag"]
    assert texts(rest) == wanted[1:]
    assert texts(client.data(HASHTAG, {"tag": tag}, None)["hashtag"]) == wanted  # anonymous
    client.data(BLOCK, {"id": bob["user"]["id"]}, r)
    assert texts(client.data(HASHTAG, {"tag": tag}, r)["hashtag"]) == [f"first #{tag}"]


def test_a_malformed_hashtag_is_refused(client: GraphQLClient) -> None:
    token = client.sign_up(unique("ada"))["accessToken"]
    for tag in ("", "#", "two words", "#a#b", "x" * 101, "2026", "tab\there", "é\x00"):
        assert client.error_code(HASHTAG, {"tag": tag}, token) == "BAD_USER_INPUT", tag
