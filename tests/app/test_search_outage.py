"""Stopping Elasticsearch while tweets are posted loses none of them from search: posting
succeeds, indexing waits (uncounted) until Elasticsearch is back, then catches up."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.backends import backend_url
from tests.support.client import embedded_settings, eventually, running_app
from tests.support.proxy import Proxy

SEARCH = "query($q: String!) { search(query: $q) { edges { node { text } } } }"


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    target = urlsplit(backend_url("CHIRP_SEARCH_URL"))
    cut_off = Proxy(target.hostname or "127.0.0.1", target.port or 9200)
    cut_off.start()
    yield cut_off
    cut_off.close()


def test_posts_made_while_elasticsearch_is_down_are_found_once_it_is_back(
    tmp_path: Path, proxy: Proxy
) -> None:
    word = f"outage{secrets.token_hex(4)}"
    settings = embedded_settings(tmp_path, search_url=f"http://127.0.0.1:{proxy.port}")
    with running_app(settings) as client:
        alice = client.sign_up("alice")
        token = alice["accessToken"]
        reader = client.sign_up("reader")["accessToken"]
        client.follow(reader, alice["user"]["id"])
        client.post_tweet(token, f"{word} before")
        eventually(lambda: client.data(SEARCH, {"q": word})["search"]["edges"])

        proxy.stop()
        started = time.monotonic()
        for n in range(3):
            client.post_tweet(token, f"{word} during {n}")  # posting still succeeds
        assert time.monotonic() - started < 5
        body = client.post(SEARCH, {"q": word})
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        # Indexing is stuck, delivery is not: it has a stream and consumers of its own.
        eventually(lambda: f"{word} during 2" in str(client.home(reader)), timeout_s=5)
        assert "indexing" in client.http.get("/metrics").text
        time.sleep(2)  # indexing retries meanwhile, without using up its attempts

        proxy.start()
        texts = eventually(
            lambda: (
                (edges := client.data(SEARCH, {"q": word})["search"]["edges"])
                and len(edges) == 4
                and edges
            ),
            timeout_s=30,
        )
        assert sorted(e["node"]["text"] for e in texts) == sorted(
            [f"{word} before"] + [f"{word} during {n}" for n in range(3)]
        )


@pytest.mark.parametrize("execution", ["compiled", "verify"])
def test_a_slow_elasticsearch_costs_search_only_and_recovers_alone(
    tmp_path: Path, proxy: Proxy, execution: str
) -> None:
    """Compiled: the plan's search times out, graphql-core runs the query again for its
    errors, and the failed search is not sent again (the client waits for one timeout)."""
    word = f"slow{secrets.token_hex(4)}"
    settings = embedded_settings(
        tmp_path, search_url=f"http://127.0.0.1:{proxy.port}", execution=execution
    )
    with running_app(settings) as client:
        alice = client.sign_up("alice")
        token = alice["accessToken"]
        reader = client.sign_up("reader")["accessToken"]
        client.follow(reader, alice["user"]["id"])
        client.post_tweet(token, f"{word} before")
        eventually(lambda: client.data(SEARCH, {"q": word})["search"]["edges"])

        proxy.delay_s = 6.0  # every answer from Elasticsearch now takes 6 s
        started = time.monotonic()
        body = client.post(SEARCH, {"q": word})
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"  # retryable
        assert time.monotonic() - started < 5, "a slow search must give up, not hang"
        started = time.monotonic()
        client.post_tweet(token, f"{word} during")  # posting does not wait for search
        eventually(lambda: f"{word} during" in str(client.home(reader)), timeout_s=5)
        assert time.monotonic() - started < 5
        ready = client.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["unavailable"] == ["elasticsearch"]

        proxy.delay_s = 0.0
        texts = eventually(
            lambda: (
                (edges := client.data(SEARCH, {"q": word})["search"]["edges"])
                and len(edges) == 2
                and edges
            ),
            timeout_s=30,
        )
        assert sorted(e["node"]["text"] for e in texts) == [f"{word} before", f"{word} during"]
        assert client.http.get("/readyz").status_code == 200
