"""`chirp serve --workers N`: several server processes on one port, with ids that never
collide, caches kept coherent across them, live events crossing them, and one signal that
stops them all; refused, with what to set, where the cache is in-process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.ids import MAX_WORKER_ID, SEQUENCE_BITS
from tests.support.server import (
    Subscriber,
    free_port,
    shared_cache_env,
    wait_healthy,
    ws_connect,
)

CHIRP = [sys.executable, "-m", "app.cli"]


def id_worker(snowflake: int) -> int:
    """The worker id (CHIRP_WORKER_ID) of the process that issued a Snowflake id."""
    return (snowflake >> SEQUENCE_BITS) & MAX_WORKER_ID


POST = "mutation($t: String!) { postTweet(input: {text: $t}) { id databaseId } }"
NAME = 'query { user(username: "author") { displayName } }'


def test_more_than_one_process_needs_a_shared_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIRP_")}
    env["CHIRP_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [*CHIRP, "serve", "--port", str(free_port()), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "CHIRP_CACHE_URL" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {**shared_cache_env(tmp_path), "CHIRP_WORKER_ID": "40"}
    subprocess.run([*CHIRP, "migrate"], env=env, check=True, capture_output=True)
    port = free_port()
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [*CHIRP, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [*CHIRP, "worker"], env={**env, "CHIRP_WORKER_ID": "9"}, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy([url], [server, worker])
            yield url, server
        finally:
            for process in (server, worker):
                if process.poll() is None:
                    process.terminate()
            for process in (server, worker):
                process.wait(timeout=40)


async def _gql(url: str, query: str, token: str | None = None, **variables: Any) -> Any:
    """One request on a connection of its own, so the kernel hands it to either process."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def _sign_up(url: str, name: str) -> Any:
    query = """mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }"""
    i = {"username": name, "email": f"{name}@example.com", "password": "longenough"}
    return (await _gql(url, query, i=i))["signUp"]


async def test_processes_share_one_port_ids_caches_and_live_events(
    served: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, server = served
    author, reader = await _sign_up(url, "author"), await _sign_up(url, "reader")
    follow = "mutation($id: ID!) { follow(userId: $id) { status } }"
    await _gql(url, follow, reader["accessToken"], id=author["user"]["id"])

    # Both processes serve, each with its own worker id: ids never collide.
    async with ws_connect(url) as socket:
        subscriber = Subscriber(socket)
        assert (await subscriber.init(reader["accessToken"]))["type"] == "connection_ack"
        await subscriber.subscribe("home", "subscription { homeTimeline { type tweetId } }")
        posted = []
        for n in range(30):
            posted.append(
                (await _gql(url, POST, author["accessToken"], t=f"tweet {n}"))["postTweet"]
            )
            if n >= 9 and len({id_worker(int(p["databaseId"])) for p in posted}) == 2:
                break
        workers = {id_worker(int(p["databaseId"])) for p in posted}
        assert workers == {40, 41}, workers
        assert len({p["id"] for p in posted}) == len(posted)
        # Live: every tweet reaches the subscriber, whichever process took its post.
        arrived = set()
        for _ in posted:
            event = (await subscriber.next_payload(timeout_s=10.0))["payload"]["data"]
            arrived.add(event["homeTimeline"]["tweetId"])
        assert arrived == {p["id"] for p in posted}

    # Coherent caches: both processes hold the profile, one changes it, both forget it.
    for _ in range(12):
        assert (await _gql(url, NAME))["user"] == {"displayName": "author"}
    change = 'mutation { updateProfile(input: {displayName: "Renamed"}) { displayName } }'
    await _gql(url, change, author["accessToken"])
    changed_at = time.monotonic()
    while True:
        seen = [(await _gql(url, NAME))["user"]["displayName"] for _ in range(12)]
        if set(seen) == {"Renamed"}:
            break
        assert time.monotonic() - changed_at < 2.0, f"a process still serves the old name: {seen}"
        await asyncio.sleep(0.05)

    # One SIGTERM stops every process: the port is closed once the parent has exited.
    server.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 40) == 0
    with pytest.raises(httpx2.TransportError):
        await _gql(url, "{ __typename }")
