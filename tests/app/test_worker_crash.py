"""A worker killed with SIGKILL in the middle of fanning out to 5,000 followers: the next
worker reclaims the job within seconds, and every follower's home timeline ends with the
tweet once."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app import container
from app.settings import Settings
from storage.records import UserRecord, utcnow
from storage.registry import migrate_all, open_stores
from tests.backends import backend_url

FOLLOWERS = 5_000


def _rows(db: Path, tweet_id: int) -> tuple[int, int]:
    with sqlite3.connect(db, timeout=10) as conn:
        count, owners = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM user_timeline WHERE tweet_id = ?",
            (tweet_id,),
        ).fetchone()
    return int(count), int(owners)


async def _post_to_many(settings: Settings) -> int:
    await migrate_all(settings)
    stores = await open_stores(settings)
    try:
        chirp = container.build(settings, stores)
        author_id = chirp.ids.next_id()
        now = utcnow()
        await stores.users.create(
            UserRecord(author_id, "author", "author@example.com", "x", "Author", now, now)
        )
        for follower in range(1, FOLLOWERS + 1):
            await stores.graph.follow(follower, author_id, now)
        tweet = await chirp.services.post_tweet(author_id, "to five thousand")
        return tweet.id
    finally:
        await stores.close()


def test_a_killed_worker_leaves_every_timeline_with_the_tweet_once(tmp_path: Path) -> None:
    redis = backend_url("CHIRP_CACHE_URL")
    db = tmp_path / "chirp.db"
    queue = f"{redis}?prefix=crash-{secrets.token_hex(4)}"
    settings = Settings(
        users_url=f"sqlite:///{db}",
        tweets_url=f"sqlite:///{db}",
        search_url=f"sqlite:///{db}",
        cache_url=redis,
        queue_url=queue,
        media_url=f"file:///{tmp_path}/media",
        secret_key="test",
        data_dir=tmp_path,
    )
    tweet_id = asyncio.run(_post_to_many(settings))
    env = {
        **os.environ,
        "CHIRP_DATA_DIR": str(tmp_path),
        "CHIRP_USERS_URL": settings.users_url,
        "CHIRP_TWEETS_URL": settings.tweets_url,
        "CHIRP_SEARCH_URL": settings.search_url,
        "CHIRP_CACHE_URL": redis,
        "CHIRP_QUEUE_URL": queue,
        "CHIRP_SECRET_KEY": "test",
        "CHIRP_FANOUT_BATCH": "50",  # many small steps, so the kill lands mid-way
    }
    worker = [sys.executable, "-m", "app.cli", "worker"]
    first = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (done := _rows(db, tweet_id)[0]) <= 1:  # 1: the author's own, written in the request
        assert time.monotonic() < deadline, "the first worker never started fanning out"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    done = _rows(db, tweet_id)[0]
    assert 1 < done < FOLLOWERS + 1, f"the kill landed after the fan-out ({done} rows)"

    killed = time.monotonic()
    second = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The dead worker renews nothing: its job goes back after the default reclaim idle
        # time (4 s) and the second worker resumes it, within the 5 s delivery budget plus
        # the new process's start-up.
        while _rows(db, tweet_id)[0] == done:
            assert time.monotonic() - killed < 10, "the killed worker's job did not resume"
            time.sleep(0.05)
        while _rows(db, tweet_id) != (FOLLOWERS + 1, FOLLOWERS + 1):
            assert time.monotonic() < deadline + 30, f"stuck at {_rows(db, tweet_id)}"
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(timeout=10)
    assert _rows(db, tweet_id) == (FOLLOWERS + 1, FOLLOWERS + 1)
