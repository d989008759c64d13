"""The app served by a real uvicorn on a loopback port, for clients that speak websockets."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from app.main import create_app
from app.settings import Settings
from tests.backends import backend_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shared_cache_env(tmp_path: Path) -> dict[str, str]:
    """The environment of `chirp` processes sharing one SQLite file and the real Redis (its
    cache, events and a job queue of their own), for tests of several server processes."""
    redis = backend_url("CHIRP_CACHE_URL")
    db = f"sqlite:///{tmp_path}/chirp.db"
    return {
        **os.environ,
        "CHIRP_DATA_DIR": str(tmp_path),
        "CHIRP_USERS_URL": db,
        "CHIRP_TWEETS_URL": db,
        "CHIRP_SEARCH_URL": db,
        "CHIRP_MEDIA_URL": f"file:///{tmp_path}/media",
        "CHIRP_CACHE_URL": redis,
        "CHIRP_QUEUE_URL": f"{redis}?prefix=test-{secrets.token_hex(4)}",
        "CHIRP_SECRET_KEY": "shared-by-every-process",
        "CHIRP_SIGN_UPS_PER_MINUTE": "100000",  # many sign-ups from one address
        "CHIRP_RUN_WORKERS": "0",
    }


def wait_healthy(urls: Sequence[str], processes: Sequence[subprocess.Popen[Any]]) -> None:
    """Until each URL's /healthz answers (30 s at most, failing early if a process exits)."""
    deadline = time.monotonic() + 30
    for url in urls:
        while True:
            with suppress(httpx2.TransportError):
                if httpx2.get(f"{url}/healthz").status_code == 200:
                    break
            assert all(p.poll() is None for p in processes), "a server process exited"
            assert time.monotonic() < deadline, "a server process did not start"
            time.sleep(0.1)


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Serve in a thread; yields the base URL (http://127.0.0.1:PORT)."""
    from storage.registry import migrate_all

    asyncio.run(migrate_all(settings))
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Subscriber:
    """A graphql-transport-ws client."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout_s: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.socket.recv(), timeout_s)
        return dict(json.loads(raw))

    async def init(self, token: str | None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": {"token": token} if token else {}})
        return await self.receive()

    async def subscribe(
        self, op_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def next_payload(self, timeout_s: float = 5.0) -> dict[str, Any]:
        while True:
            message = await self.receive(timeout_s)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql"


def ws_connect(base: str) -> Any:
    return connect(ws_url(base), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
