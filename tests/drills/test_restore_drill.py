"""The restore drill on the real engines (issue #19, item 3), through the commands an
operator runs.

Sign-ups (PostgreSQL) and tweets (Cassandra, fanned out to a follower, indexed in
Elasticsearch) are written without pause while `chirp backup create` takes a full set (a
PostgreSQL base backup, a Cassandra snapshot) and then an incremental one (Cassandra's
flushed sstables); media objects are written, overwritten and deleted around them. The time
T is noted and more is written. Then every engine but the S3 endpoint holding the backups is
killed with SIGKILL and its data folders removed, and `scripts/services restore T` brings
them back: PostgreSQL replays its archived WAL up to T; Cassandra gets the newest set before
T; the media bucket its versions at T; Elasticsearch is rebuilt; Redis starts empty and the
jobs a set can catch half-done are rebuilt.

Afterwards, through the app: every sign-up acknowledged before T is there and none after;
every tweet acknowledged before the incremental set started is there and none after T;
search, the follower's home timeline and the author's count agree with the restored tweets;
each media key is as it was at T. The measured recovery point and time are printed against
the design's 15 minutes and 2 hours.

It destroys the engines' data, so it runs only by `make drill` (after the suite in CI)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from app.backup import open_backups
from storage.postgres.shards import split_dsns
from storage.records import TimelineKind
from tests.resolvers.test_notifications import settled
from tests.support.cli import chirp_env, run_chirp
from tests.support.client import GraphQLClient, running_app
from tests.support.lifecycle import call, chirp
from tests.support.profiles import engines_backup_settings
from tests.support.writers import Acknowledged

ROOT = Path(__file__).resolve().parents[2]
SERVICES = Path(os.environ.get("CHIRP_SERVICES_DIR", ROOT / ".services"))
SEARCH = """query($q: String!, $after: String) { search(query: $q, first: 100, after: $after) {
    edges { node { text } } pageInfo { hasNextPage endCursor } } }"""
COUNTS = "query($u: String!) { user(username: $u) { tweetsCount followersCount } }"
USER = "query($u: String!) { user(username: $u) { username } }"
# The engines' pid files, and what each keeps its data in (scripts/services' layout).
PIDS = ["postgres/data/postmaster.pid", "cassandra/cassandra.pid", "elasticsearch/es.pid"]
PIDS += ["redis/redis.pid"]
DATA = ["postgres/data", "cassandra/data", "cassandra/commitlog", "cassandra/saved_caches"]
DATA += ["cassandra/hints", "elasticsearch/data", "redis/appendonlydir"]


def _archive_past(dsn: str) -> None:
    """What archive_timeout does within a minute: the WAL written so far goes to the
    archive (a restore replays only archived WAL)."""

    async def switch() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            segment = await connection.fetchval("SELECT pg_walfile_name(pg_switch_wal())")
            for _ in range(300):
                done = await connection.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
                if done is not None and done >= segment:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"WAL segment {segment} was not archived within 30 s")
        finally:
            await connection.close()

    asyncio.run(switch())


def _searched(client: GraphQLClient, query: str) -> set[str]:
    found: set[str] = set()
    after = None
    while True:
        page = client.data(SEARCH, {"q": query, "after": after})["search"]
        found |= {edge["node"]["text"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _destroy_engines() -> None:
    """kill -9 every engine but the S3 endpoint that holds the backups, and rm -rf their
    data folders."""
    for pidfile in PIDS:
        path = SERVICES / pidfile
        if path.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(path.read_text().split()[0]), signal.SIGKILL)
    time.sleep(1)
    for folder in DATA:
        shutil.rmtree(SERVICES / folder, ignore_errors=True)


def test_the_engines_restore_to_a_time(tmp_path: Path) -> None:
    settings = engines_backup_settings(tmp_path)
    run = secrets.token_hex(3)
    media = f"media/{secrets.randbelow(10**9)}"
    with running_app(settings) as client:
        author = client.sign_up(f"da_{run}")
        fan = client.sign_up(f"df_{run}")
        client.follow(fan["accessToken"], author["user"]["id"])
        stores = chirp(client).stores

        def put(name: str, data: bytes) -> None:
            call(client, stores.media.put(f"{media}/{name}.png", data, "image/png"))

        for name in ("early", "changed", "deleted"):
            put(name, b"before")
        token = author["accessToken"]

        def post(n: int) -> str:
            client.post_tweet(token, f"drill{run} {n}")
            return f"drill{run} {n}"

        def sign_up(n: int) -> str:
            client.sign_up(f"du{run}_{n}")
            return f"du{run}_{n}"

        pace = {"pause_s": 0.05}
        with Acknowledged(post, **pace) as tweets, Acknowledged(sign_up, **pace) as users:
            time.sleep(1)
            full = run_chirp(settings, "backup", "create", "--full", timeout_s=300)
            assert full.returncode == 0, full.stderr
            time.sleep(1)
            incremental = run_chirp(settings, "backup", "create", timeout_s=300)
            assert incremental.returncode == 0, incremental.stderr
            time.sleep(1)
            t = datetime.now(UTC)
            time.sleep(1.5)
            put("late", b"after")
            put("changed", b"after")
            call(client, stores.media.delete_many([f"{media}/deleted.png"]))
            time.sleep(0.5)
        assert tweets.errors == [] and users.errors == []
        settled(client)
    _archive_past(split_dsns(settings.users_url)[0])

    sets = open_backups(settings).sets()
    assert [s.parts["kind"] for s in sets[-2:]] == ["full", "incremental"]
    latest = sets[-1]
    assert latest.taken_at <= t

    _destroy_engines()
    started = time.monotonic()
    restored = subprocess.run(
        [str(ROOT / "scripts/services"), "restore", t.isoformat()],
        env=chirp_env(settings),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert f"restored {latest.name}" in restored.stdout, restored.stdout[-2000:]

    with running_app(settings) as client:
        settled(client)
        rto_s = time.monotonic() - started
        # PostgreSQL: exactly T.
        for username in users.before(t):
            assert client.data(USER, {"u": username})["user"] is not None, username
        for username in users.after(t):
            assert client.data(USER, {"u": username})["user"] is None, username
        # Cassandra: the incremental set; search and timelines agree with it.
        back = _searched(client, f"drill{run}")
        assert tweets.before(latest.started_at) <= back
        assert tweets.after(t) and not back & tweets.after(t)
        stores = chirp(client).stores
        fan_id = int(fan["user"]["databaseId"])
        home = call(client, stores.timelines.page(TimelineKind.HOME, fan_id, 5000))
        homed = call(client, stores.tweets.get_many([e.tweet_id for e in home]))
        assert {tw.text for tw in homed if tw.user_id != fan_id} == back
        counts: Any = client.data(COUNTS, {"u": f"da_{run}"})["user"]
        assert counts == {"tweetsCount": len(back), "followersCount": 1}
        # S3: each key as it was at T.
        get = stores.media.get
        assert call(client, get(f"{media}/early.png")) == b"before"
        assert call(client, get(f"{media}/changed.png")) == b"before"
        assert call(client, get(f"{media}/deleted.png")) == b"before"
        assert call(client, get(f"{media}/late.png")) is None
    lost_tweets = [at for _, at, text in tweets.acknowledged if text not in back and at <= t]
    rpo_s = (t - min(lost_tweets)).total_seconds() if lost_tweets else 0.0
    print(
        f"\nrestore drill (engines): {len(users.before(t))} sign-ups before T all back "
        f"(PostgreSQL's WAL: RPO = archive_timeout, 60 s), none of {len(users.after(t))} after; "
        f"{len(back)} tweets back, none of {len(tweets.after(t))} after T; Cassandra's RPO "
        f"here {rpo_s:.1f} s (design: 900 s; a set every CHIRP_BACKUP_EVERY_S, 900 s, bounds "
        f"it); RTO {rto_s:.0f} s from wiped engines to a settled app (design: 7200 s)"
    )
