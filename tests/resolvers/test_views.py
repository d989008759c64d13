"""viewCount, as users meet it, on both profiles: each viewer counts once per window
wherever they see a tweet (timelines, by id), anonymous readers and hidden tweets count
nothing, reading never writes a store, and the buffered views reach the counter from the
worker (in-process or `chirp worker`), also at shutdown and through a cache outage."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from storage.cassandra.session import CassandraUrl
from tests.backends import backend_url
from tests.support.client import GraphQLClient, embedded_settings, eventually, running_app
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.proxy import Proxy

BY_ID = "query($id: ID!) { tweet(id: $id) { id text } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
VIEWS = "query($id: ID!) { tweet(id: $id) { viewCount } }"
PROFILE = """query($name: String!) { user(username: $name) {
  tweets(first: 5) { edges { node { id text viewCount } } } } }"""
HOME = "query($first: Int!) { homeTimeline(first: $first) { edges { node { id text } } } }"
BLOCK = "mutation($id: ID!) { block(userId: $id) { username } }"
FLUSH_S = 0.1


@pytest.fixture(params=PROFILES)
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _settings(profile: str, tmp_path: Path, **overrides: Any) -> Settings:
    return settings_on(profile, tmp_path).with_overrides(**{"view_flush_s": FLUSH_S, **overrides})


def _app(profile: str, tmp_path: Path, **overrides: Any) -> AbstractContextManager[GraphQLClient]:
    return running_app(_settings(profile, tmp_path, **overrides))


@pytest.fixture
def client(profile: str, tmp_path: Path) -> Iterator[GraphQLClient]:
    with _app(profile, tmp_path) as graphql:
        yield graphql


def _people(client: GraphQLClient, *names: str) -> list[dict[str, Any]]:
    return [client.sign_up(unique(name)) for name in names]


def _views(client: GraphQLClient, tweet: dict[str, Any]) -> int:
    """The tweet's viewCount, read anonymously (an anonymous read counts no view)."""
    return int(client.data(VIEWS, {"id": tweet["id"]})["tweet"]["viewCount"])


def _by_id(client: GraphQLClient, tweet: dict[str, Any], token: str) -> Any:
    return client.data(BY_ID, {"id": tweet["id"]}, token)["tweet"]


def _settled(client: GraphQLClient, tweet: dict[str, Any], expected: int) -> None:
    """viewCount reaches `expected` and stays there over several more flushes."""
    eventually(lambda: _views(client, tweet) == expected)
    time.sleep(FLUSH_S * 5)
    assert _views(client, tweet) == expected


def test_each_viewer_counts_once_per_window_wherever_they_see_the_tweet(
    client: GraphQLClient,
) -> None:
    author, v1, v2, v3 = _people(client, "author", "v1", "v2", "v3")
    name = author["user"]["username"]
    for viewer in (v1, v2, v3):
        client.follow(viewer["accessToken"], author["user"]["id"])
    tweet = client.post_tweet(author["accessToken"], "look at me")
    t1, t2, t3 = v1["accessToken"], v2["accessToken"], v3["accessToken"]
    eventually(lambda: tweet["id"] in str(client.home(t1)))  # home page, as often as it takes
    assert _by_id(client, tweet, t2)["text"] == "look at me"
    client.data(NODE, {"id": tweet["id"]}, t2)
    client.data(PROFILE, {"name": name}, t3)
    client.home(t3)
    _by_id(client, tweet, t1)
    _settled(client, tweet, 3)
    # Anonymous readers count nothing, on a profile page or by id.
    client.data(PROFILE, {"name": name})
    client.data(BY_ID, {"id": tweet["id"]})
    _settled(client, tweet, 3)
    [edge] = client.data(PROFILE, {"name": name}, t1)["user"]["tweets"]["edges"]
    assert edge["node"]["viewCount"] == 3


def test_only_tweets_the_viewer_gets_count(client: GraphQLClient) -> None:
    author, reader, blocked = _people(client, "author", "reader", "blocked")
    client.follow(reader["accessToken"], author["user"]["id"])
    older = client.post_tweet(author["accessToken"], "older")
    newer = client.post_tweet(author["accessToken"], "newer")
    client.data(BLOCK, {"id": blocked["user"]["id"]}, author["accessToken"])
    token = reader["accessToken"]

    def first_is_newer() -> bool:
        edges = client.data(HOME, {"first": 1}, token)["homeTimeline"]["edges"]
        return [edge["node"]["text"] for edge in edges] == ["newer"]

    eventually(first_is_newer)  # the page read two entries to know there is a next page
    cursors_only = "{ homeTimeline(first: 20) { edges { cursor } pageInfo { hasNextPage } } }"
    assert len(client.data(cursors_only, {}, token)["homeTimeline"]["edges"]) == 2
    assert _by_id(client, older, blocked["accessToken"]) is None  # hidden: not seen
    _settled(client, newer, 1)
    assert _views(client, older) == 0


def test_a_view_counts_again_after_the_window(profile: str, tmp_path: Path) -> None:
    with _app(profile, tmp_path, view_window_s=1.0) as client:
        author, viewer = _people(client, "author", "viewer")
        tweet = client.post_tweet(author["accessToken"], "again and again")
        token = viewer["accessToken"]
        seen_at = time.monotonic()
        _by_id(client, tweet, token)
        eventually(lambda: _views(client, tweet) == 1)
        _by_id(client, tweet, token)  # within the window: nothing
        _settled(client, tweet, 1)
        time.sleep(max(0.0, seen_at + 1.1 - time.monotonic()))
        _by_id(client, tweet, token)
        _settled(client, tweet, 2)


def _page_calls(client: GraphQLClient, query: str, variables: dict[str, Any], token: str) -> Any:
    """A page's store calls, warm (its second read)."""
    client.post(query, variables, token)
    body = client.post(query, variables, token)
    assert not body.get("errors"), body["errors"]
    return body["extensions"]["storeCalls"]["byMethod"]


def _reader_and_pages(client: GraphQLClient) -> tuple[str, dict[str, Any], list[Any]]:
    """A reader following an author with a tweet, and the pages it is on (query, vars)."""
    author, reader = _people(client, "author", "reader")
    client.follow(reader["accessToken"], author["user"]["id"])
    tweet = client.post_tweet(author["accessToken"], "counted")
    token = reader["accessToken"]
    eventually(lambda: tweet["id"] in str(client.home(token)))
    pages = [
        (HOME, {"first": 20}),
        (BY_ID, {"id": tweet["id"]}),
        (PROFILE, {"name": author["user"]["username"]}),
    ]
    return token, tweet, pages


def test_reading_pages_writes_no_store_only_one_cache_call(profile: str, tmp_path: Path) -> None:
    """The same pages with view counting off (window 0) and on: the same store calls,
    plus one cache call per page."""
    with _app(profile, tmp_path, view_window_s=0.0) as client:
        token, tweet, pages = _reader_and_pages(client)
        off = [_page_calls(client, query, variables, token) for query, variables in pages]
        time.sleep(FLUSH_S * 3)
        assert _views(client, tweet) == 0
    with _app(profile, tmp_path) as client:
        on = [_page_calls(client, query, variables, token) for query, variables in pages]
        eventually(lambda: _views(client, tweet) == 1)
    for page_off, page_on in zip(off, on, strict=True):
        assert page_on.pop("cache.count_once") == 1
        assert page_on == page_off
        assert not [method for method in page_on if method.startswith("engagement.add")]


def test_views_are_flushed_by_the_worker_when_the_server_runs_none(
    profile: str, tmp_path: Path
) -> None:
    """CHIRP_RUN_WORKERS=0: on Redis the tally waits for `chirp worker` (run here as the
    real command, `--once`); the embedded server flushes its in-process tally itself."""
    overrides: dict[str, Any] = {"run_workers": False}
    if profile == "engines":  # a queue of this test's own: the worker's jobs are ours
        overrides["queue_url"] = f"{backend_url('CHIRP_CACHE_URL')}?prefix=views-{unique('q')}"
    settings = _settings(profile, tmp_path, **overrides)
    with running_app(settings) as client:
        author, viewer = _people(client, "author", "viewer")
        tweet = client.post_tweet(author["accessToken"], "seen once")
        _by_id(client, tweet, viewer["accessToken"])
        if profile == "engines":
            _run_worker_once(settings, tmp_path / "worker")
            assert _views(client, tweet) == 1
        else:
            _settled(client, tweet, 1)


def _run_worker_once(settings: Settings, data_dir: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")},
        "CHIRP_USERS_URL": settings.users_url,
        "CHIRP_TWEETS_URL": settings.tweets_url,
        "CHIRP_SEARCH_URL": settings.search_url,
        "CHIRP_CACHE_URL": settings.cache_url,
        "CHIRP_QUEUE_URL": settings.queue_url,
        "CHIRP_MEDIA_URL": settings.media_url,
        "CHIRP_SECRET_KEY": settings.secret_key,
        "CHIRP_DATA_DIR": str(data_dir),
        "CHIRP_WORKER_ID": "77",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_views_buffered_at_shutdown_are_written(profile: str, tmp_path: Path) -> None:
    with _app(profile, tmp_path, view_flush_s=3600.0) as client:  # no periodic flush
        author, viewer = _people(client, "author", "viewer")
        tweet = client.post_tweet(author["accessToken"], "last words")
        _by_id(client, tweet, viewer["accessToken"])
    with _app(profile, tmp_path) as client:
        assert _views(client, tweet) == 1


@pytest.fixture
def redis_proxy() -> Iterator[tuple[str, Proxy]]:
    from urllib.parse import urlsplit

    target = urlsplit(backend_url("CHIRP_CACHE_URL"))
    proxy = Proxy(target.hostname or "127.0.0.1", target.port or 6379)
    proxy.start()
    yield f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}", proxy
    proxy.close()


def test_a_redis_outage_loses_only_its_views_and_fails_no_read(
    tmp_path: Path, redis_proxy: tuple[str, Proxy]
) -> None:
    cache_url, proxy = redis_proxy
    settings = embedded_settings(tmp_path, cache_url=cache_url, view_flush_s=FLUSH_S)
    with running_app(settings) as client:
        author, before, during, after = _people(client, "author", "before", "during", "after")
        tweet = client.post_tweet(author["accessToken"], "through the outage")
        _by_id(client, tweet, before["accessToken"])
        _settled(client, tweet, 1)
        proxy.stop()
        assert _by_id(client, tweet, during["accessToken"])["text"] == "through the outage"
        assert _views(client, tweet) == 1
        proxy.start()
        eventually(lambda: _by_id(client, tweet, after["accessToken"]) and _views(client, tweet))
        _settled(client, tweet, 2)  # before and after; during's view is the one lost


@pytest.fixture
def cassandra_proxy() -> Iterator[tuple[str, Proxy]]:
    target = CassandraUrl(backend_url("CHIRP_TWEETS_URL"))
    proxy = Proxy(target.hosts[0], target.port)
    proxy.start()
    yield f"cassandra://127.0.0.1:{proxy.port}/{target.keyspace}", proxy
    proxy.close()


def test_views_the_store_cannot_take_are_kept_for_the_next_flush(
    tmp_path: Path, cassandra_proxy: tuple[str, Proxy]
) -> None:
    tweets_url, proxy = cassandra_proxy
    settings = embedded_settings(tmp_path, tweets_url=tweets_url, view_flush_s=3600.0)
    with running_app(settings) as client:
        author, viewer = _people(client, "author", "viewer")
        tweet = client.post_tweet(author["accessToken"], "patience")
        _by_id(client, tweet, viewer["accessToken"])
        views = client.http.app.state.chirp.views
        proxy.stop()
        assert client.http.portal.call(views.flush) == 0  # the write failed: kept
        proxy.start()
        eventually(lambda: client.http.portal.call(views.flush) == 1, timeout_s=30)
        assert _views(client, tweet) == 1
