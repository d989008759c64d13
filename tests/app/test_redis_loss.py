"""No job is lost silently when Redis restarts empty (issue #19, item 1).

The app's worker has been consuming its streams; tweets are posted (and one deleted) while
no worker takes their jobs, so fan-outs, index jobs and a retraction sit in Redis. Redis is
killed with SIGKILL and started again with none of its data. The worker notices the lost
streams, says so (log, `chirp_job_streams_lost_total`), rebuilds their jobs from the stores
(app/reconcile.py), and every tweet still reaches every follower's stored home timeline and
search, and the deleted one neither. On both profiles, each with a Redis of the test's own
as cache and queue. And the shared Redis that scripts/services runs keeps an append-only
file, so a restart loses nothing in the first place."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import redis

from app.metrics import METRICS
from storage.errors import StorageError
from storage.records import TimelineKind
from tests.backends import backend_url
from tests.support.client import GraphQLClient, running_app
from tests.support.lifecycle import call, chirp
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.redis_server import RedisServer

SEARCH = "query($q: String!) { search(query: $q, first: 50) { edges { node { text } } } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
POSTS = 12


def _drain(client: GraphQLClient, worker: Any) -> int:
    """Run every job there is; a Redis that just came back may refuse the first call."""
    for _ in range(50):
        try:
            return int(client.http.portal.call(worker.drain))
        except StorageError:
            continue
    raise AssertionError("the worker never reached Redis again")


def _home(client: GraphQLClient, user_id: int) -> set[int]:
    entries = call(client, chirp(client).stores.timelines.page(TimelineKind.HOME, user_id, 100))
    return {entry.tweet_id for entry in entries}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_redis_that_restarts_empty_loses_no_delivery_or_indexing(
    profile: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServer(tmp_path / "redis") as server:
        settings = settings_on(profile, tmp_path).with_overrides(
            cache_url=server.url, queue_url=server.url, run_workers=False
        )
        with running_app(settings) as client:
            worker = chirp(client).worker()
            author = client.sign_up(unique("author"))
            fans = [client.sign_up(unique("fan")) for _ in range(2)]
            for fan in fans:
                client.follow(fan["accessToken"], author["user"]["id"])
            _drain(client, worker)  # the worker has its streams (and the follows are done)

            word = unique("lost")
            token = author["accessToken"]
            posted = [client.post_tweet(token, f"{word} {n}") for n in range(POSTS)]
            client.data(DELETE, {"id": posted[0]["id"]}, token)
            live = {int(t["databaseId"]) for t in posted[1:]}
            deleted = int(posted[0]["databaseId"])
            before = METRICS.streams_lost["delivery"], METRICS.streams_lost["indexing"]

            server.kill()  # every job above is still in Redis
            server.start()  # and it comes back with nothing
            assert redis.Redis(port=server.port).dbsize() == 0
            with caplog.at_level(logging.ERROR, logger="chirp.worker"):
                _drain(client, worker)

            lost = METRICS.streams_lost["delivery"], METRICS.streams_lost["indexing"]
            assert lost == (before[0] + 1, before[1] + 1)
            assert any("was lost" in r.getMessage() for r in caplog.records)
            for fan in fans:
                home = _home(client, int(fan["user"]["databaseId"]))
                assert live <= home and deleted not in home
            call(client, chirp(client).stores.search.refresh())
            hits = client.data(SEARCH, {"q": word})["search"]["edges"]
            assert sorted(h["node"]["text"] for h in hits) == sorted(t["text"] for t in posted[1:])
            metrics = client.http.get("/metrics").text
            assert 'chirp_job_streams_lost_total{stream="delivery"}' in metrics
            assert 'chirp_jobs_reconciled_total{stream="delivery"}' in metrics


def test_the_shared_redis_keeps_an_append_only_file() -> None:
    """scripts/services runs Redis with AOF, fsynced every second: a restart keeps the
    streams (the test above is for a Redis that lost its files anyway)."""
    client = redis.Redis.from_url(backend_url("CHIRP_CACHE_URL"))
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    finally:
        client.close()


def test_a_redis_with_an_append_only_file_keeps_pending_jobs_across_kill_9(
    tmp_path: Path,
) -> None:
    """The setting itself, proven: an enqueued job survives SIGKILL and a restart."""
    import asyncio

    from storage.redis.queue import RedisJobQueue

    async def enqueue_then_count(url: str, enqueue: bool) -> int:
        client = redis.asyncio.Redis.from_url(url)
        queue = RedisJobQueue(client, "delivery")
        try:
            if enqueue:
                await queue.enqueue("fan_out", {"tweet_id": 1})
                await asyncio.sleep(1.5)  # appendfsync everysec
            return (await queue.backlog()).jobs
        finally:
            await client.aclose()

    with RedisServer(tmp_path / "aof", persistent=True) as server:
        assert asyncio.run(enqueue_then_count(server.url, True)) == 1
        server.kill()
        server.start()
        assert asyncio.run(enqueue_then_count(server.url, False)) == 1
