"""A burst of posts on the real engines: every one reaches a follower's stored home timeline
and the search index once the job streams drain. A pipeline that ran jobs one at a time
(about 2 a second, each index job waiting for a refresh) would not drain within the bound."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import from_env
from storage.records import TimelineKind
from tests.backends import backend_url
from tests.support.client import GraphQLClient, eventually, running_app

AUTHORS = 10
POSTS_PER_AUTHOR = 30  # 300 in all, within the per-user mutation limit
DRAIN_BOUND_S = 120.0
SEARCH = """query($q: String!, $after: String) { search(query: $q, first: 100, after: $after) {
  edges { node { databaseId } } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GraphQLClient]:
    env = {
        name: backend_url(name)
        for name in ("CHIRP_USERS_URL", "CHIRP_TWEETS_URL", "CHIRP_CACHE_URL", "CHIRP_SEARCH_URL")
    }
    env |= {
        "CHIRP_DATA_DIR": str(tmp_path),
        "CHIRP_SECRET_KEY": "burst-test-key",
        # Every test signs up from one address within a minute, counted in the shared Redis.
        "CHIRP_SIGN_UPS_PER_MINUTE": "100000",
    }
    with running_app(from_env({**os.environ, **env})) as client:
        yield client


def _backlog(client: GraphQLClient) -> int:
    text = client.http.get("/metrics").text
    return sum(int(n) for n in re.findall(r"^chirp_job_backlog\{[^}]*\} (\d+)$", text, re.M))


def test_a_burst_of_300_posts_reaches_timeline_and_search(served: GraphQLClient) -> None:
    client = served
    word = f"burst{secrets.token_hex(4)}"
    tag = secrets.token_hex(3)
    reader = client.sign_up(f"reader_{tag}")
    authors = [client.sign_up(f"a{n}_{tag}") for n in range(AUTHORS)]
    for author in authors:
        client.follow(reader["accessToken"], author["user"]["id"])
    posted = {
        client.post_tweet(author["accessToken"], f"{word} number {n}")["databaseId"]
        for n in range(POSTS_PER_AUTHOR)
        for author in authors
    }
    assert len(posted) == AUTHORS * POSTS_PER_AUTHOR

    started = time.monotonic()
    eventually(lambda: _backlog(client) == 0, timeout_s=DRAIN_BOUND_S, interval_s=0.5)
    drained_s = time.monotonic() - started

    stores = client.http.app.state.stores
    reader_id = int(reader["user"]["databaseId"])
    entries = client.http.portal.call(stores.timelines.page, TimelineKind.HOME, reader_id, 1000)
    assert posted <= {str(entry.tweet_id) for entry in entries}, f"drained in {drained_s:.1f}s"

    def found() -> set[str]:
        ids: set[str] = set()
        after = None
        while True:
            page = client.data(SEARCH, {"q": word, "after": after})["search"]
            ids |= {edge["node"]["databaseId"] for edge in page["edges"]}
            if not page["pageInfo"]["hasNextPage"]:
                return ids
            after = page["pageInfo"]["endCursor"]

    eventually(lambda: found() == posted, timeout_s=10)
