"""Two server processes and one worker sharing Redis (and one SQLite file): live events and
cache invalidation cross process boundaries within a second."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.support.server import (
    Subscriber,
    free_port,
    shared_cache_env,
    wait_healthy,
    ws_connect,
)

HOME = "subscription { homeTimeline { type tweetId } }"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = shared_cache_env(tmp_path)
    chirp = [sys.executable, "-m", "app.cli"]
    subprocess.run([*chirp, "migrate"], env=env, check=True, capture_output=True)
    ports = [free_port(), free_port()]
    logs = contextlib.ExitStack()
    processes = [
        subprocess.Popen(
            [*chirp, "serve", "--port", str(port)],
            env={**env, "CHIRP_WORKER_ID": str(n + 1)},
            stdout=logs.enter_context((tmp_path / f"server{n}.log").open("w")),
            stderr=subprocess.STDOUT,
        )
        for n, port in enumerate(ports)
    ]
    processes.append(
        subprocess.Popen(
            [*chirp, "worker"],
            env={**env, "CHIRP_WORKER_ID": "9"},
            stdout=logs.enter_context((tmp_path / "worker.log").open("w")),
            stderr=subprocess.STDOUT,
        )
    )
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        wait_healthy(urls, processes)
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        logs.close()


async def _gql(
    http: httpx2.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = (
        await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    ).json()
    assert not body.get("errors"), body
    return body["data"]


async def _sign_up(http: httpx2.AsyncClient, name: str) -> Any:
    query = """mutation($i: SignUpInput!) {
        signUp(input: $i) { accessToken refreshToken user { id } } }"""
    i = {"username": name, "email": f"{name}@example.com", "password": "longenough"}
    return (await _gql(http, query, i=i))["signUp"]


async def test_events_and_invalidation_cross_processes(cluster: tuple[str, str]) -> None:
    url_a, url_b = cluster
    async with httpx2.AsyncClient(base_url=url_a) as a, httpx2.AsyncClient(base_url=url_b) as b:
        author, reader = await _sign_up(a, "author"), await _sign_up(a, "reader")
        await _gql(
            b,
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            reader["accessToken"],
            id=author["user"]["id"],
        )
        async with ws_connect(url_b) as socket:
            subscriber = Subscriber(socket)
            assert (await subscriber.init(reader["accessToken"]))["type"] == "connection_ack"
            await subscriber.subscribe("home", HOME)
            posted_at = time.monotonic()
            post = 'mutation { postTweet(input: {text: "across processes"}) { id } }'
            tweet_id = (await _gql(a, post, author["accessToken"]))["postTweet"]["id"]
            event = (await subscriber.next_payload(timeout_s=1.0))["payload"]["data"][
                "homeTimeline"
            ]
            assert event == {"type": "ADDED", "tweetId": tweet_id}
            assert time.monotonic() - posted_at < 1.0

        read = "query($id: ID!) { tweet(id: $id) { id } }"
        assert (await _gql(a, read, id=tweet_id))["tweet"] == {"id": tweet_id}  # now in A's L1
        await _gql(
            b, "mutation($id: ID!) { deleteTweet(id: $id) }", author["accessToken"], id=tweet_id
        )
        deleted_at = time.monotonic()
        while (await _gql(a, read, id=tweet_id))["tweet"] is not None:
            assert time.monotonic() - deleted_at < 1.0, "process A still serves the deleted tweet"
            await asyncio.sleep(0.02)

        me = "{ me { id } }"
        assert (await _gql(a, me, reader["accessToken"]))["me"] is not None  # in A's L1
        log_out = "mutation($t: String!) { logOut(refreshToken: $t) }"
        assert (await _gql(b, log_out, t=reader["refreshToken"]))["logOut"] is True
        logged_out_at = time.monotonic()
        while (await _gql(a, me, reader["accessToken"]))["me"] is not None:
            assert time.monotonic() - logged_out_at < 1.0, "process A honours a revoked session"
            await asyncio.sleep(0.02)
