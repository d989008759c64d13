"""Node-loss drills (issue #20) on `scripts/services up --replicated`.

The PostgreSQL primary (a synchronous hot standby; `CHIRP_USERS_URL` names both servers
with `target_session_attrs=read-write`):

Sign-ups and log-ins run without pause. The primary is killed with SIGKILL; a second later
the operator runs `chirp failover postgres` (detect, promote the standby, verify), and the
load goes on. Requests fail only between the kill and the promotion, and only with the
retryable `UNAVAILABLE` code (never a 500 or another code); afterwards every acknowledged
sign-up is there (commits are synchronous, so the standby had each one). The drill prints
its table: requests sent, failed by code, acknowledged writes lost, and the time to full
service against the design's 2 hours.

The Redis primary (a replica and three Sentinels; `CHIRP_CACHE_URL` is
`redis+sentinel://.../chirp/0?replicas=1`): posts and home-timeline reads run without pause,
the primary is killed with SIGKILL, and Sentinel promotes the replica by itself. Requests
fail only with `UNAVAILABLE` (posts made meanwhile have their jobs spooled locally); the app
reconnects by itself; every acknowledged post reaches every follower's stored home
timeline exactly once.

They kill engines, so they run only by `make drill-replicated` (after the suite in CI)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis

from storage.postgres.shards import dsn_hosts, split_dsns
from storage.records import TimelineKind
from tests.resolvers.test_notifications import settled
from tests.support.cli import run_chirp
from tests.support.client import GraphQLClient, running_app
from tests.support.lifecycle import call, chirp
from tests.support.profiles import engines_backup_settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = Path(os.environ.get("CHIRP_SERVICES_DIR", ROOT / ".services"))
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { user { username } } }"""
LOG_IN = """mutation($u: String!, $p: String!) { logIn(login: $u, password: $p) {
    accessToken } }"""
USER = "query($u: String!) { user(username: $u) { username } }"
POST = "mutation($text: String!) { postTweet(input: {text: $text}) { id } }"
HOME = "{ homeTimeline(first: 20) { edges { node { id text } } } }"
PASSWORD = "correct horse battery"


class Load:
    """One kind of request in a loop, recording each outcome with its time."""

    def __init__(self, client: GraphQLClient, request: Any, token: str | None = None) -> None:
        self.outcomes: list[tuple[float, str, str]] = []  # (time, code or "ok", written)
        self._client, self._request = client, request
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            written, (query, variables) = self._request(n)
            response = self._client.http.post(
                "/graphql", json={"query": query, "variables": variables}, headers=self._headers
            )
            code = f"HTTP {response.status_code}"
            if response.status_code == 200:
                errors = response.json().get("errors")
                code = errors[0].get("extensions", {}).get("code", "NO CODE") if errors else "ok"
            self.outcomes.append((time.monotonic(), code, written))
            n += 1
            time.sleep(0.02)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _postgres_primary() -> Path:
    """The pid file of the server that is primary now, which must have a standby streaming."""
    ports = _ports()
    folders = {ports["PG_PORT"]: "postgres", ports["PG_STANDBY_PORT"]: "postgres-standby"}

    async def primary_port() -> int:
        for port in folders:
            try:
                connection = await asyncpg.connect(
                    host="127.0.0.1", port=port, user="chirp", database="postgres", timeout=3
                )
            except OSError:
                continue
            try:
                if not await connection.fetchval("SELECT pg_is_in_recovery()"):
                    streaming = await connection.fetchval(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                    )
                    assert streaming, "no standby streams: rebuild it (README, failover)"
                    return port
            finally:
                await connection.close()
        raise AssertionError("no PostgreSQL primary answers")

    port = asyncio.run(primary_port())
    return SERVICES / folders[port] / "data/postmaster.pid"


def test_losing_the_postgres_primary(tmp_path: Path) -> None:
    settings = engines_backup_settings(tmp_path)
    dsns = split_dsns(settings.users_url)
    if len(dsn_hosts(dsns[0])) < 2:
        pytest.fail("run `scripts/services up --replicated` first: CHIRP_USERS_URL has no standby")
    run = secrets.token_hex(3)
    with running_app(settings) as client:
        client.sign_up(f"fo_{run}", PASSWORD)

        def sign_up(n: int) -> tuple[str, tuple[str, dict[str, Any]]]:
            name = f"fo{run}_{n}"
            email = f"{name}@example.com"
            values = {"username": name, "email": email, "password": PASSWORD}
            return name, (SIGN_UP, {"input": values})

        def log_in(_: int) -> tuple[str, tuple[str, dict[str, Any]]]:
            return "", (LOG_IN, {"u": f"fo_{run}", "p": PASSWORD})

        with Load(client, sign_up) as sign_ups, Load(client, log_in) as log_ins:
            time.sleep(2)
            primary = _postgres_primary()
            killed_at = time.monotonic()
            os.kill(int(primary.read_text().split()[0]), signal.SIGKILL)
            time.sleep(1)  # the operator's "detect"
            failover = run_chirp(settings, "failover", "postgres", timeout_s=120)
            promoted_at = time.monotonic()
            assert failover.returncode == 0, failover.stderr
            assert "promoted" in failover.stdout, failover.stdout
            time.sleep(3)

        outcomes = sign_ups.outcomes + log_ins.outcomes
        failed = Counter(code for _, code, _ in outcomes if code != "ok")
        assert set(failed) <= {"UNAVAILABLE"}, failed
        assert all(killed_at <= at <= promoted_at + 1 for at, code, _ in outcomes if code != "ok")
        back_at = min(at for at, code, _ in sign_ups.outcomes if code == "ok" and at > killed_at)
        acknowledged = [name for _, code, name in sign_ups.outcomes if code == "ok"]
        lost = [n for n in acknowledged if client.data(USER, {"u": n})["user"] is None]
        assert lost == []
        after = [at for at, code, _ in outcomes if code == "ok" and at > promoted_at]
        assert after, "nothing succeeded after the promotion"
    print(
        f"\nfailover drill (PostgreSQL primary): {len(outcomes)} requests "
        f"({len(sign_ups.outcomes)} sign-ups, {len(log_ins.outcomes)} log-ins), failed "
        f"{dict(failed) or 0}, acknowledged writes lost {len(lost)} of {len(acknowledged)}; "
        f"full service {back_at - killed_at:.1f} s after the kill (the promotion "
        f"{promoted_at - killed_at:.1f} s after it; design: 7200 s)"
    )


def _ports() -> dict[str, int]:
    lines = (SERVICES / "ports.env").read_text().split()
    return {name: int(value) for name, _, value in (line.partition("=") for line in lines)}


def _redis_primary(ports: dict[str, int]) -> int:
    """The port Sentinel names as the primary now."""
    with redis.Redis(host="127.0.0.1", port=ports["SENTINEL_PORT_1"], socket_timeout=3) as client:
        _, port = client.execute_command("SENTINEL", "get-master-addr-by-name", "chirp")
        return int(port)


# redis-py drops its connections to the killed primary without waiting for their sockets
# to close and leaves them to the garbage collector, whose finalisers warn (the connection,
# its StreamWriter and transport, the socket): closed when collected, not a leak of Chirp's.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <function (StreamWriter|_SelectorTransport|AbstractConnection)"
    ".__del__:pytest.PytestUnraisableExceptionWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)
def test_losing_the_redis_primary(tmp_path: Path) -> None:
    settings = engines_backup_settings(tmp_path)
    if not settings.cache_url.startswith("redis+sentinel://"):
        pytest.fail("run `scripts/services up --replicated` first: CHIRP_CACHE_URL has no Sentinel")
    ports = _ports()
    pidfiles = {
        ports["REDIS_PORT"]: SERVICES / "redis/redis.pid",
        ports["REDIS_REPLICA_PORT"]: SERVICES / "redis-replica/redis.pid",
    }
    run = secrets.token_hex(3)
    with running_app(settings) as client:
        author = client.sign_up(f"ra_{run}", PASSWORD)
        fans = [client.sign_up(f"rf{n}_{run}", PASSWORD) for n in range(3)]
        for fan in fans:
            client.follow(fan["accessToken"], author["user"]["id"])
        token = author["accessToken"]

        def post(n: int) -> tuple[str, tuple[str, dict[str, Any]]]:
            text = f"sentinel{run} {n}"
            return text, (POST, {"text": text})

        def read(_: int) -> tuple[str, tuple[str, dict[str, Any]]]:
            return "", (HOME, {})

        with (
            Load(client, post, token) as posts,
            Load(client, read, fans[0]["accessToken"]) as reads,
        ):
            time.sleep(2)
            primary = _redis_primary(ports)
            killed_at = time.monotonic()
            os.kill(int(pidfiles[primary].read_text().split()[0]), signal.SIGKILL)
            for _ in range(300):
                if _redis_primary(ports) != primary:
                    break
                time.sleep(0.1)
            promoted_at = time.monotonic()
            assert _redis_primary(ports) != primary, "Sentinel promoted no replica in 30 s"
            time.sleep(3)
        settled(client)
        stores = chirp(client).stores
        outcomes = posts.outcomes + reads.outcomes
        failed = Counter(code for _, code, _ in outcomes if code != "ok")
        assert set(failed) <= {"UNAVAILABLE"}, failed
        acknowledged = [text for _, code, text in posts.outcomes if code == "ok"]
        assert any(at > promoted_at for at, code, _ in posts.outcomes if code == "ok")
        lost = duplicated = 0
        for fan in fans:
            fan_id = int(fan["user"]["databaseId"])
            home = call(client, stores.timelines.page(TimelineKind.HOME, fan_id, 5000))
            tweets = call(client, stores.tweets.get_many([e.tweet_id for e in home]))
            seen = Counter(tweet.text for tweet in tweets if tweet is not None)
            lost += sum(1 for text in acknowledged if seen[text] == 0)
            duplicated += sum(1 for text in acknowledged if seen[text] > 1)
        assert (lost, duplicated) == (0, 0)
        failed_at = [at for at, code, _ in outcomes if code != "ok"]
        back_at = max([killed_at, *failed_at])
    print(
        f"\nfailover drill (Redis primary): {len(outcomes)} requests ({len(posts.outcomes)} "
        f"posts, {len(reads.outcomes)} home reads), failed {dict(failed) or 0}, acknowledged "
        f"posts lost from {len(fans)} followers' home timelines {lost}, delivered twice "
        f"{duplicated} (of {len(acknowledged)}); Sentinel promoted the replica "
        f"{promoted_at - killed_at:.1f} s after the kill; the last failure "
        f"{back_at - killed_at:.1f} s after it (design: 7200 s)"
    )
