"""The core flow with users on PostgreSQL (two physical shards) and tweets, timelines, the
graph and engagement on Apache Cassandra, over HTTP as a client sends it."""

from __future__ import annotations

import concurrent.futures
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app

COUNTS = """query($id: ID!) { tweet(id: $id) { likeCount retweetCount replyCount
  viewerHasLiked replies { edges { node { id } } } } }"""


@pytest.fixture
def cassandra_client(tmp_path: Path) -> Iterator[GraphQLClient]:
    settings = embedded_settings(
        tmp_path,
        users_url=backend_url("CHIRP_USERS_URL"),
        tweets_url=backend_url("CHIRP_TWEETS_URL"),
    )
    with running_app(settings) as client:
        yield client


def _name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


def test_core_flow_on_postgresql_and_cassandra(cassandra_client: GraphQLClient) -> None:
    client = cassandra_client
    reader, writer = client.sign_up(_name("reader")), client.sign_up(_name("writer"))
    client.follow(reader["accessToken"], writer["user"]["id"])
    username = reader["user"]["username"]
    tweet = client.post_tweet(writer["accessToken"], f"hello @{username} #cassandra")
    edges = eventually(
        lambda: client.home(reader["accessToken"], fields="text author { username }")["edges"]
    )
    assert edges[0]["node"]["id"] == tweet["id"]
    assert edges[0]["node"]["author"] == {"username": writer["user"]["username"]}

    like = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
    retweet = "mutation($id: ID!) { retweet(id: $id) { id } }"
    fans = [client.sign_up(_name("fan")) for _ in range(4)]
    jobs = [(like, fan["accessToken"]) for fan in fans for _ in range(3)]
    jobs += [(retweet, fan["accessToken"]) for fan in fans[:2] for _ in range(3)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda job: client.data(job[0], {"id": tweet["id"]}, job[1]), jobs))
    reply = client.post_tweet(reader["accessToken"], "a reply", replyToId=tweet["id"])
    counts = client.data(COUNTS, {"id": tweet["id"]}, fans[0]["accessToken"])["tweet"]
    assert counts == {
        "likeCount": 4,
        "retweetCount": 2,
        "replyCount": 1,
        "viewerHasLiked": True,
        "replies": {"edges": [{"node": {"id": reply["id"]}}]},
    }

    client.data(
        "mutation($id: ID!) { deleteTweet(id: $id) }", {"id": tweet["id"]}, writer["accessToken"]
    )
    assert client.data(COUNTS, {"id": tweet["id"]})["tweet"] is None
    assert tweet["id"] not in str(client.home(reader["accessToken"]))
