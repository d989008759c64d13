"""Hybrid fan-out: authors over the celebrity threshold are merged in at read time, in the same
order and with the same cursors as fanned-out tweets, and their posts write O(1) rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.instrumented import count_calls
from storage.records import TimelineKind
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app


@pytest.fixture
def low_threshold(tmp_path: Path) -> Iterator[GraphQLClient]:
    with running_app(embedded_settings(tmp_path, celebrity_followers=2)) as client:
        yield client


def test_celebrity_tweets_interleave_with_fanned_out_ones_across_pages(
    low_threshold: GraphQLClient,
) -> None:
    client = low_threshold
    star, author = client.sign_up("star"), client.sign_up("author")
    reader = client.sign_up("reader")
    fans = [client.sign_up(f"fan{i}") for i in range(2)]
    for follower in [reader, *fans]:
        client.follow(follower["accessToken"], star["user"]["id"])  # 3 followers: over the line
    client.follow(reader["accessToken"], author["user"]["id"])
    posted = []
    for i in range(5):
        posted.append(client.post_tweet(author["accessToken"], f"ordinary {i}")["id"])
        posted.append(client.post_tweet(star["accessToken"], f"famous {i}")["id"])
    expected = list(reversed(posted))
    eventually(lambda: len(client.home(reader["accessToken"], first=20)["edges"]) == 10)
    seen, after = [], None
    while True:
        page = client.home(reader["accessToken"], first=3, after=after)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected

    # The star's tweets were never written into followers' home timelines.
    stores = client.http.app.state.stores
    rows = client.http.portal.call(
        stores.timelines.page, TimelineKind.HOME, int(reader["user"]["databaseId"]), 50
    )
    assert {str(e.tweet_id) for e in rows} == {
        client.data("query($id: ID!) { tweet(id: $id) { databaseId } }", {"id": i})["tweet"][
            "databaseId"
        ]
        for i in posted[0::2]
    }


def test_posting_as_a_celebrity_writes_o1_rows(low_threshold: GraphQLClient) -> None:
    client = low_threshold
    star = client.sign_up("star")
    fans = [client.sign_up(f"fan{i}") for i in range(6)]
    for fan in fans:
        client.follow(fan["accessToken"], star["user"]["id"])
    tweet = client.post_tweet(star["accessToken"], "to the many")
    chirp = client.http.app.state.chirp

    async def fan_out() -> dict[str, int]:
        with count_calls() as calls:
            await chirp.handlers["fan_out"]([{"tweet_id": int(tweet["databaseId"])}])
        return dict(calls)

    calls = client.http.portal.call(fan_out)
    assert "timelines.push" not in calls and "graph.followers_page" not in calls, calls
    assert sum(calls.values()) <= 4, calls
    for fan in fans[:2]:
        eventually(lambda fan=fan: tweet["id"] in str(client.home(fan["accessToken"])))


HOME = """query { homeTimeline(first: 20) { edges { node { id text likeCount viewerHasLiked
    author { username } } } } }"""


def test_merging_celebrities_into_a_home_page_costs_no_store_call_more(
    low_threshold: GraphQLClient,
) -> None:
    client = low_threshold
    stars = [client.sign_up(f"star{i}") for i in range(3)]
    author = client.sign_up("author")
    plain, merging = client.sign_up("plain"), client.sign_up("merging")
    fans = [client.sign_up(f"fan{i}") for i in range(2)]
    for star in stars:
        for follower in (merging, *fans):
            client.follow(follower["accessToken"], star["user"]["id"])
    for reader in (plain, merging):
        client.follow(reader["accessToken"], author["user"]["id"])
    for i in range(4):
        client.post_tweet(author["accessToken"], f"ordinary {i}")
        for star in stars:
            client.post_tweet(star["accessToken"], f"famous {i}")
    eventually(lambda: len(client.home(merging["accessToken"], first=20)["edges"]) == 16)
    eventually(lambda: len(client.home(plain["accessToken"], first=20)["edges"]) == 4)

    def calls(reader: dict[str, object]) -> dict[str, int]:
        client.post(HOME, {}, str(reader["accessToken"]))  # warm, as a reader scrolling is
        body = client.post(HOME, {}, str(reader["accessToken"]))
        assert "errors" not in body, body
        return dict(body["extensions"]["storeCalls"]["byMethod"])

    merged, alone = calls(merging), calls(plain)
    assert sum(merged.values()) == sum(alone.values()), (merged, alone)
    assert merged.get("timelines.pages") == 1 and "timelines.page" not in merged, merged
