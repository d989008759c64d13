"""Who liked and who retweeted a tweet, and the tweets quoting it, as users meet them on
both profiles: newest first, a page at a time, through the read policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import GraphQLClient, eventually
from tests.support.profiles import PROFILES, app_on, unique
from tests.support.suspension import suspend

ENGAGERS = """query($id: ID!, $first: Int!, $after: String) { tweet(id: $id) {
  likedBy(first: $first, after: $after) { ...accounts }
  retweetedBy(first: $first, after: $after) { ...accounts } } }
fragment accounts on EngagerConnection {
  edges { cursor at node { username } } pageInfo { hasNextPage endCursor } }"""
QUOTES = """query($id: ID!, $first: Int!, $after: String) { tweet(id: $id) {
  quotes(first: $first, after: $after) {
    edges { cursor node { text quoteOf { id } author { username } } }
    pageInfo { hasNextPage endCursor } } } }"""
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlikeTweet(id: $id) { id } }"
RETWEET = "mutation($id: ID!) { retweet(id: $id) { id } }"
UNDO_RETWEET = "mutation($id: ID!) { undoRetweet(id: $id) { id } }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { id } }"
MUTE = "mutation($id: ID!) { mute(userId: $id) { id } }"
PROTECT = "mutation { updateSettings(input: {privateAccount: true}) { privateAccount } }"
APPROVE = "mutation($id: ID!) { approveFollowRequest(userId: $id) { status } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"


@pytest.fixture(params=PROFILES)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphQLClient]:
    with app_on(request.param, tmp_path) as graphql:
        yield graphql


def _people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def _names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["username"] for edge in connection["edges"]]


def _engagers(
    client: GraphQLClient, token: str | None, tweet: str, first: int = 20, after: str | None = None
) -> dict[str, Any]:
    variables = {"id": tweet, "first": first, "after": after}
    found: dict[str, Any] = client.data(ENGAGERS, variables, token)["tweet"]
    return found


def test_likers_and_retweeters_are_listed_newest_first_a_page_at_a_time(
    client: GraphQLClient,
) -> None:
    owner, *fans = _people(client, "owner", "f0", "f1", "f2", "f3", "f4")
    tweet = client.post_tweet(owner["accessToken"], "like me")["id"]
    for fan in fans:
        client.data(LIKE, {"id": tweet}, fan["accessToken"])
    for fan in fans[:3]:
        client.data(RETWEET, {"id": tweet}, fan["accessToken"])
    newest_first = [fan["user"]["username"] for fan in reversed(fans)]

    reader = owner["accessToken"]
    pages, after = [], None
    while True:
        page = _engagers(client, reader, tweet, first=2, after=after)["likedBy"]
        pages.append(_names(page))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    both = _engagers(client, None, tweet)  # anyone may read them, logged in or not
    assert _names(both["likedBy"]) == newest_first
    assert _names(both["retweetedBy"]) == newest_first[2:]
    times = [edge["at"] for edge in both["likedBy"]["edges"]]
    assert times == sorted(times, reverse=True)
    edge = both["likedBy"]["edges"][1]
    rest = _engagers(client, reader, tweet, after=edge["cursor"])["likedBy"]
    assert _names(rest) == newest_first[2:]  # an edge's cursor continues after it

    # Undoing leaves the list at once; doing it again puts the account first.
    client.data(UNLIKE, {"id": tweet}, fans[4]["accessToken"])
    client.data(UNDO_RETWEET, {"id": tweet}, fans[1]["accessToken"])
    after_undo = _engagers(client, reader, tweet)
    assert _names(after_undo["likedBy"]) == newest_first[1:]
    assert _names(after_undo["retweetedBy"]) == [newest_first[2], newest_first[4]]
    client.data(LIKE, {"id": tweet}, fans[0]["accessToken"])  # already liked: no change
    client.data(LIKE, {"id": tweet}, fans[4]["accessToken"])
    assert _names(_engagers(client, reader, tweet)["likedBy"]) == newest_first
    # Deleting one's retweet undoes it too.
    retweets = "query($n: String!) { user(username: $n) { tweets { edges { node { id } } } } }"
    name = fans[0]["user"]["username"]
    [own] = client.data(retweets, {"n": name}, reader)["user"]["tweets"]["edges"]
    client.data(DELETE, {"id": own["node"]["id"]}, fans[0]["accessToken"])
    assert _names(_engagers(client, reader, tweet)["retweetedBy"]) == [newest_first[2]]


def test_blocked_and_suspended_accounts_are_not_listed(client: GraphQLClient) -> None:
    owner, reader, blocked, blocker, suspended, plain = _people(
        client, "owner", "reader", "blocked", "blocker", "susp", "plain"
    )
    tweet = client.post_tweet(owner["accessToken"], "popular")["id"]
    for fan in (plain, suspended, blocker, blocked):
        client.data(LIKE, {"id": tweet}, fan["accessToken"])
        client.data(RETWEET, {"id": tweet}, fan["accessToken"])
    r = reader["accessToken"]
    client.data(BLOCK, {"id": blocked["user"]["id"]}, r)
    client.data(BLOCK, {"id": reader["user"]["id"]}, blocker["accessToken"])
    client.data(MUTE, {"id": plain["user"]["id"]}, r)  # a mute hides nothing here
    suspend(client, suspended["user"]["databaseId"])

    seen = _engagers(client, r, tweet, first=4)
    for connection in ("likedBy", "retweetedBy"):
        assert _names(seen[connection]) == [plain["user"]["username"]], connection
    others = _engagers(client, owner["accessToken"], tweet)
    expected = [blocked["user"]["username"], blocker["user"]["username"]]
    assert _names(others["likedBy"]) == [*expected, plain["user"]["username"]]

    # A page whose accounts are all hidden still moves on: its end cursor is past them.
    first = _engagers(client, r, tweet, first=2)["likedBy"]
    assert first["edges"] == [] and first["pageInfo"]["hasNextPage"] is True
    after = first["pageInfo"]["endCursor"]
    assert _names(_engagers(client, r, tweet, first=2, after=after)["likedBy"]) == [
        plain["user"]["username"]
    ]


def test_quotes_are_newest_first_and_protected_ones_reach_only_followers(
    client: GraphQLClient,
) -> None:
    owner, reader, quiet, carol, dave, blocked = _people(
        client, "owner", "reader", "quiet", "carol", "dave", "blocked"
    )
    posted = client.post_tweet(owner["accessToken"], "quote me")
    tweet = posted["id"]
    client.data(PROTECT, token=quiet["accessToken"])
    client.follow(reader["accessToken"], quiet["user"]["id"])
    client.data(APPROVE, {"id": reader["user"]["id"]}, quiet["accessToken"])
    client.post_tweet(owner["accessToken"], "not a quote")
    quotes = {
        who["user"]["username"]: client.post_tweet(
            who["accessToken"], f"quoting {n}", quoteOfId=tweet
        )["id"]
        for n, who in enumerate((carol, quiet, dave, blocked))
    }
    client.data(BLOCK, {"id": blocked["user"]["id"]}, reader["accessToken"])
    client.data(MUTE, {"id": dave["user"]["id"]}, reader["accessToken"])  # not a feed: shown

    def page(token: str | None, first: int = 20, after: str | None = None) -> dict[str, Any]:
        variables = {"id": tweet, "first": first, "after": after}
        found = client.data(QUOTES, variables, token)["tweet"]["quotes"]
        assert all(edge["node"]["quoteOf"] == {"id": tweet} for edge in found["edges"])
        return {
            "texts": [edge["node"]["text"] for edge in found["edges"]],
            "next": found["pageInfo"]["hasNextPage"],
            "end": found["pageInfo"]["endCursor"],
        }

    # The reader is an approved follower of the protected account: its quote is shown.
    first = page(reader["accessToken"], first=2)
    assert first["texts"] == ["quoting 2", "quoting 1"] and first["next"]
    rest = page(reader["accessToken"], first=2, after=first["end"])
    assert rest == {"texts": ["quoting 0"], "next": False, "end": rest["end"]}
    # Anyone else, logged in or not, does not see it; its author does.
    assert page(None)["texts"] == ["quoting 3", "quoting 2", "quoting 0"]
    assert page(owner["accessToken"])["texts"] == ["quoting 3", "quoting 2", "quoting 0"]
    assert "quoting 1" in page(quiet["accessToken"])["texts"]

    # A suspended author's quote leaves the list, and a deleted one at once.
    suspend(client, carol["user"]["databaseId"])
    client.data(DELETE, {"id": quotes[dave["user"]["username"]]}, dave["accessToken"])
    assert page(reader["accessToken"])["texts"] == ["quoting 1"]
    # The retract job then takes the deleted quote out of the stored list.
    store = client.http.app.state.chirp.stores.engagement
    quoted_id = int(posted["databaseId"])

    def stored() -> int:
        return len(client.http.portal.call(store.quotes_page, quoted_id, 10))

    eventually(lambda: stored() == 3)
