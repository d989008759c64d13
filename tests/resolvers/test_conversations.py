"""Conversations, on both profiles: ancestors up to the root, then the replies below as a
tree (the author's self-thread first, then ranked or by time), paged once each, with the
read policy (deleted, protected, blocked) leaving replies out or as placeholders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient
from tests.support.profiles import PROFILES, app_on, unique

THREAD = """query($id: ID!, $first: Int, $after: String, $order: ConversationOrder) {
  tweet(id: $id) { conversation(first: $first, after: $after, order: $order) {
    ancestors { depth unavailable tweet { text } }
    edges { cursor node { depth unavailable tweetId tweet { text } } }
    pageInfo { hasNextPage endCursor } } } }"""
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
PROTECT = "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { status } }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


class Thread:
    """alice's root R; bob's B1 and carol's C1 reply to R, alice's A1 (a self-reply) and her
    A2 below it, dave's D1 below B1; B1 has the most likes."""

    def __init__(self, client: GraphQLClient) -> None:
        self.client = client
        self.people = {n: client.sign_up(unique(n)) for n in ("alice", "bob", "carol", "dave")}
        self.ids: dict[str, str] = {}
        self.ids["R"] = self.post("alice", "R")
        self.ids["B1"] = self.post("bob", "B1", "R")
        self.ids["A1"] = self.post("alice", "A1", "R")
        self.ids["A2"] = self.post("alice", "A2", "A1")
        self.ids["C1"] = self.post("carol", "C1", "R")
        self.ids["D1"] = self.post("dave", "D1", "B1")
        for who in ("carol", "dave"):
            client.data(LIKE, {"id": self.ids["B1"]}, self.token(who))

    def token(self, who: str) -> str:
        return str(self.people[who]["accessToken"])

    def post(self, who: str, text: str, reply_to: str | None = None) -> str:
        extra = {"replyToId": self.ids[reply_to]} if reply_to else {}
        return str(self.client.post_tweet(self.token(who), text, **extra)["id"])

    def read(self, who: str, tweet: str, **variables: Any) -> dict[str, Any]:
        found = self.client.data(THREAD, {"id": self.ids[tweet], **variables}, self.token(who))
        return dict(found["tweet"]["conversation"])


def shape(page: dict[str, Any]) -> list[tuple[str, int]]:
    """(text, or "-" for a placeholder; depth) of each reply, in order."""
    return [
        ((e["node"]["tweet"] or {}).get("text", "-"), e["node"]["depth"]) for e in page["edges"]
    ]


def test_the_tree_puts_the_self_thread_first_then_ranks_or_orders_by_time(
    client: GraphQLClient,
) -> None:
    t = Thread(client)
    ranked = t.read("alice", "R")
    assert ranked["ancestors"] == []
    assert shape(ranked) == [("A1", 1), ("A2", 2), ("B1", 1), ("D1", 2), ("C1", 1)]
    newest = t.read("alice", "R", order="NEWEST")
    assert shape(newest) == [("A1", 1), ("A2", 2), ("C1", 1), ("B1", 1), ("D1", 2)]
    oldest = t.read("alice", "R", order="OLDEST")
    assert shape(oldest) == [("A1", 1), ("A2", 2), ("B1", 1), ("D1", 2), ("C1", 1)]
    # Below a reply: its ancestors up to the root, then what answers it.
    below = t.read("carol", "B1")
    assert [(a["tweet"]["text"], a["depth"]) for a in below["ancestors"]] == [("R", 0)]
    assert shape(below) == [("D1", 2)]
    leaf = t.read("carol", "D1")
    assert [a["tweet"]["text"] for a in leaf["ancestors"]] == ["R", "B1"]
    assert leaf["edges"] == [] and leaf["pageInfo"]["hasNextPage"] is False


def test_pages_give_each_reply_once(client: GraphQLClient) -> None:
    t = Thread(client)
    seen: list[tuple[str, int]] = []
    after = None
    for _ in range(5):
        page = t.read("alice", "R", first=2, after=after)
        seen += shape(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == shape(t.read("alice", "R", first=100))
    assert len({text for text, _ in seen}) == len(seen) == 5


def test_hidden_replies_are_left_out_or_kept_as_placeholders(client: GraphQLClient) -> None:
    t = Thread(client)
    eve, frank = client.sign_up(unique("eve")), client.sign_up(unique("frank"))
    client.follow(frank["accessToken"], eve["user"]["id"])
    client.data(PROTECT, {}, eve["accessToken"])
    t.people["eve"], t.people["frank"] = eve, frank
    t.ids["E1"] = t.post("eve", "E1", "R")  # protected: alice does not follow eve
    t.ids["F1"] = t.post("frank", "F1", "E1")  # frank follows eve, so he may answer it
    assert ("E1", 1) in shape(t.read("frank", "R"))
    seen_by_alice = shape(t.read("alice", "R", first=100))
    assert ("E1", 1) not in seen_by_alice and ("-", 1) in seen_by_alice  # E1 keeps F1's chain
    assert seen_by_alice[seen_by_alice.index(("-", 1)) + 1] == ("F1", 2)
    # A deleted reply with an answer stays as a placeholder; one without is left out.
    client.data(DELETE, {"id": t.ids["B1"]}, t.token("bob"))
    client.data(DELETE, {"id": t.ids["C1"]}, t.token("carol"))
    after_deletes = shape(t.read("dave", "R", first=100))
    assert ("-", 1) in after_deletes and ("D1", 2) in after_deletes
    assert not any(text in ("B1", "C1", "E1") for text, _ in after_deletes)
    below = t.read("dave", "D1")
    assert [a["unavailable"] for a in below["ancestors"]] == [False, True]  # R, then B1
    # Blocking dave hides his reply from alice, and hers from him.
    client.data(BLOCK, {"id": t.people["dave"]["user"]["id"]}, t.token("alice"))
    assert ("D1", 2) not in shape(t.read("alice", "R", first=100))
    body = client.post(THREAD, {"id": t.ids["R"]}, t.token("dave"))
    assert body["data"]["tweet"] is None  # the root itself is alice's


def test_a_malformed_cursor_or_order_is_refused(client: GraphQLClient) -> None:
    t = Thread(client)
    for after in ("garbage", "Yzow", "aTox"):  # not base64 of c:..., c:0, i:1
        body = client.post(THREAD, {"id": t.ids["R"], "after": after}, t.token("alice"))
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", after
    body = client.post(THREAD, {"id": t.ids["R"], "order": "LOUDEST"}, t.token("alice"))
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # not an order
