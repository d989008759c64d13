"""Cassandra cut off while the app runs: paths that need it answer UNAVAILABLE (retryable)
quickly, paths that do not (sign-up, log-in, a profile's user row) go on, /readyz names
cassandra, and when it is reachable again everything works without a restart.

The app reaches the shared Cassandra of `scripts/services` through a loopback proxy that
the test stops and starts, so cutting it off disturbs nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.cassandra.session import CassandraUrl
from tests.backends import backend_url
from tests.support.client import embedded_settings, eventually, running_app
from tests.support.proxy import Proxy

PROFILE = "query($name: String!) { user(username: $name) { username displayName } }"
TIMELINE = "query($name: String!) { user(username: $name) { tweets(first: 5) { edges { node { text } } } } }"  # noqa: E501


@pytest.fixture
def cassandra() -> Iterator[tuple[str, Proxy]]:
    target = CassandraUrl(backend_url("CHIRP_TWEETS_URL"))
    proxy = Proxy(target.hosts[0], target.port)
    proxy.start()
    yield f"cassandra://127.0.0.1:{proxy.port}/{target.keyspace}", proxy
    proxy.close()


def _code(response: dict[str, object]) -> object:
    errors = response.get("errors") or []
    assert isinstance(errors, list)
    return errors[0]["extensions"]["code"] if errors else None


def test_cassandra_cut_off_costs_only_the_paths_that_need_it_and_recovers_alone(
    tmp_path: Path, cassandra: tuple[str, Proxy]
) -> None:
    tweets_url, proxy = cassandra
    with running_app(embedded_settings(tmp_path, tweets_url=tweets_url)) as client:
        alice = client.sign_up("alice")
        token = alice["accessToken"]
        client.post_tweet(token, "before the outage")

        proxy.stop()
        started = time.monotonic()
        posted = client.post(
            "mutation($i: PostTweetInput!) { postTweet(input: $i) { id } }",
            {"i": {"text": "during the outage"}},
            token=token,
        )
        assert _code(posted) == "UNAVAILABLE", posted  # retryable, not an internal error
        read = client.post(TIMELINE, {"name": "alice"})
        assert _code(read) == "UNAVAILABLE", read
        assert time.monotonic() - started < 15, "a dead Cassandra must not hang requests"
        # What lives in PostgreSQL still works.
        assert client.data(PROFILE, {"name": "alice"})["user"]["username"] == "alice"
        assert client.sign_up("bob")["user"]["username"] == "bob"
        ready = client.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["unavailable"] == ["cassandra"]

        proxy.start()

        def back() -> bool:
            again = client.post(TIMELINE, {"name": "alice"})
            return _code(again) is None and client.http.get("/readyz").status_code == 200

        eventually(back, timeout_s=30, interval_s=0.5)
        client.post_tweet(token, "after the outage")
        texts = [
            edge["node"]["text"]
            for edge in client.data(TIMELINE, {"name": "alice"})["user"]["tweets"]["edges"]
        ]
        assert texts == ["after the outage", "before the outage"]
