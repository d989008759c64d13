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
