"""The job pipeline as users run it: kinds on their own streams, backlog in /metrics and
/readyz, and `chirp worker` consuming only the streams it is given."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app import cli
from app.main import create_app
from storage.registry import migrate_all
from tests.support.client import GraphQLClient, embedded_settings


def test_backlog_shows_in_metrics_and_readyz_reports_a_lagging_stream(tmp_path: Path) -> None:
    # No worker in this process: what is posted stays queued.
    settings = embedded_settings(tmp_path, run_workers=False, ready_max_lag_s=1)
    asyncio.run(migrate_all(settings))
    with TestClient(create_app(settings)) as http:
        client = GraphQLClient(http)
        token = client.sign_up("writer")["accessToken"]
        client.post_tweet(token, "queued, not yet delivered")
        metrics = http.get("/metrics").text
        assert 'chirp_job_backlog{stream="delivery"} 1' in metrics
        assert 'chirp_job_backlog{stream="indexing"} 2' in metrics  # the tweet, the account
        assert 'chirp_job_backlog{stream="cleanup"} 0' in metrics
        assert 'chirp_job_backlog{stream="notify"} 1' in metrics  # whom it tells: no one
        time.sleep(1.2)
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["lagging"] == ["delivery", "indexing", "live", "notify"]


def test_chirp_worker_runs_only_the_streams_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = embedded_settings(tmp_path, run_workers=False)
    db = settings.users_url
    for name, value in {
        "CHIRP_USERS_URL": db,
        "CHIRP_TWEETS_URL": db,
        "CHIRP_SEARCH_URL": db,
        "CHIRP_CACHE_URL": "memory://",
        "CHIRP_MEDIA_URL": settings.media_url,
        "CHIRP_SECRET_KEY": settings.secret_key,
        "CHIRP_DATA_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    asyncio.run(migrate_all(settings))
    with TestClient(create_app(settings)) as http:
        client = GraphQLClient(http)
        author = client.sign_up("author")
        reader = client.sign_up("reader")["accessToken"]
        client.follow(reader, author["user"]["id"])
        assert cli.main(["worker", "--once"]) == 0  # the follow's backfill
        client.post_tweet(author["accessToken"], "delivered by a delivery worker")

        assert cli.main(["worker", "--once", "--streams", "delivery"]) == 0
        assert "delivered by a delivery worker" in str(client.home(reader))
        metrics = http.get("/metrics").text
        assert 'chirp_job_backlog{stream="indexing"} 1' in metrics  # left for its own worker
        assert cli.main(["worker", "--once", "--streams", "indexing"]) == 0
        assert 'chirp_job_backlog{stream="indexing"} 0' in http.get("/metrics").text
        assert cli.main(["worker", "--once", "--streams", "nonsense"]) == 2
