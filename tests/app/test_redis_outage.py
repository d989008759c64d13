"""Degraded mode: with Redis stopped, reads and posts still work; when it returns, the
fan-out that was spooled locally is delivered."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import backend_url
from tests.support.client import embedded_settings, eventually, running_app
from tests.support.server import free_port


class RedisServer:
    """A Redis of this test's own, so stopping it disturbs nothing else."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    backend_url("CHIRP_CACHE_URL")  # runs with the other Redis tests
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_reads_and_posts_survive_a_redis_outage(tmp_path: Path, redis_server: RedisServer) -> None:
    settings = embedded_settings(tmp_path, cache_url=f"redis://127.0.0.1:{redis_server.port}/0")
    with running_app(settings) as client:
        reader, writer = client.sign_up("reader"), client.sign_up("writer")
        client.follow(reader["accessToken"], writer["user"]["id"])
        first = client.post_tweet(writer["accessToken"], "before the outage")
        eventually(lambda: first["id"] in str(client.home(reader["accessToken"])))

        redis_server.stop()
        started = time.monotonic()
        during = client.post_tweet(writer["accessToken"], "during the outage")  # durable
        me = client.data("{ me { username } }", token=reader["accessToken"])["me"]
        assert me == {"username": "reader"}  # reads fall back to the store
        tweet = client.data("query($id: ID!) { tweet(id: $id) { text } }", {"id": first["id"]})
        assert tweet["tweet"] == {"text": "before the outage"}
        assert time.monotonic() - started < 5  # no hang on a dead Redis
        assert during["id"] in str(client.home(writer["accessToken"]))  # the author's own

        redis_server.start()  # delivery catches up from the local spool
        eventually(lambda: during["id"] in str(client.home(reader["accessToken"])), timeout_s=15)
