"""One PostgreSQL shard stops while the app runs: users on the other shard go on, requests
that need the stopped one get UNAVAILABLE (retryable) quickly, /readyz names postgresql,
and when the shard comes back everything works again without a restart.

The stopped shard is a PostgreSQL server of this test's own (initdb in a temporary folder),
so stopping it disturbs nothing else; the other shard is a fresh database on the shared
server of `scripts/services`."""

from __future__ import annotations

import asyncio
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from storage.sharding import ShardMap
from tests.backends import backend_url
from tests.support.client import embedded_settings, eventually, running_app
from tests.support.server import free_port

USER = "query($name: String!) { user(username: $name) { username } }"


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert found, "PostgreSQL is not installed"
    return Path(found[-1])


class PostgresServer:
    """A PostgreSQL of this test's own, run as the postgres user (initdb refuses root)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="chirp-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.port = free_port()
        self._run("initdb", "-D", str(self.folder / "data"), "-U", "chirp", "--auth=trust")

    def _run(self, tool: str, *args: str) -> None:
        # No pipes: the server pg_ctl starts would inherit them and keep them open.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(_pg_bin() / tool), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = str(self.folder / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(_pg_bin() / "pg_ctl"), "-D",
             str(self.folder / "data"), "-m", "immediate", "stop"],
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


async def _create_database(server_url: str, name: str) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@pytest.fixture
def two_shards() -> Iterator[tuple[str, PostgresServer]]:
    shared = backend_url("CHIRP_USERS_URL").split(",")[0]
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.fail("this test starts a PostgreSQL of its own: it needs root and runuser")
    server = PostgresServer()
    try:
        server.start()
        name = f"chirp_outage_{secrets.token_hex(4)}"
        asyncio.run(_create_database(shared, name))
        private = f"postgresql://chirp@127.0.0.1:{server.port}/postgres"
        asyncio.run(_create_database(private, "chirp_outage_shard1"))
        parts = urlsplit(shared)
        first = parts._replace(path=f"/{name}").geturl()
        second = f"postgresql://chirp@127.0.0.1:{server.port}/chirp_outage_shard1"
        yield f"{first},{second}", server
    finally:
        server.remove()


def _code(response: dict[str, object]) -> object:
    errors = response.get("errors") or []
    assert isinstance(errors, list)
    return errors[0]["extensions"]["code"] if errors else None


def test_a_stopped_shard_costs_only_its_users_and_comes_back_without_a_restart(
    tmp_path: Path, two_shards: tuple[str, PostgresServer]
) -> None:
    users_url, server = two_shards
    shards = ShardMap.round_robin(2)
    with running_app(embedded_settings(tmp_path, users_url=users_url)) as client:
        signed = [client.sign_up(f"person{n}") for n in range(12)]
        on = {0: [], 1: []}  # type: dict[int, list[dict[str, object]]]
        for session in signed:
            user = session["user"]
            on[shards.physical_for_id(int(user["databaseId"]))].append(session)
        assert on[0] and on[1], "twelve users all landed on one shard"
        healthy, stranded = on[0][0], on[1][0]

        server.stop()
        started = time.monotonic()
        tweet = client.post_tweet(healthy["accessToken"], "the other shard is down")
        assert tweet["id"]
        answer = client.post(USER, {"name": stranded["user"]["username"]})
        assert _code(answer) == "UNAVAILABLE", answer  # retryable, not an internal error
        assert time.monotonic() - started < 10  # no hang on a dead shard
        ready = client.http.get("/readyz")
        assert ready.status_code == 503
        assert "postgresql" in ready.json()["unavailable"]

        server.start()

        def back() -> bool:
            again = client.post(USER, {"name": stranded["user"]["username"]})
            return _code(again) is None and client.http.get("/readyz").status_code == 200

        eventually(back, timeout_s=20)
        client.post_tweet(stranded["accessToken"], "my shard is back")
