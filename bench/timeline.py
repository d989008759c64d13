"""Timeline page throughput against the floor of the same server.

Starts `chirp serve` on the embedded default (a fresh data folder), seeds one reader who
follows 20 authors with 200 tweets between them, then drives 16 concurrent clients over
loopback for a fixed time per query and prints requests per second side by side:

    { __typename }                               the floor: parsing, HTTP and execution
    homeTimeline(first: 20) { ... }              the page DESIGN.md measures

The ratio (timeline / floor) is the figure to watch; DESIGN.md's goal is 0.5. Machines here
are noisy: each query runs in several alternating rounds and the medians are reported.

    .venv/bin/python bench/timeline.py [--seconds 5] [--rounds 3] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

TIMELINE = """{ homeTimeline(first: 20) { edges { cursor node {
  id text createdAt likeCount retweetCount viewerHasLiked author { username displayName } } } } }"""
FLOOR = "{ __typename }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _gql(
    http: httpx2.AsyncClient, query: str, token: str | None = None, **variables: object
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return dict(body["data"])


async def _sign_up(http: httpx2.AsyncClient, name: str) -> dict:
    data = await _gql(
        http,
        "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }",
        i={"username": name, "email": f"{name}@example.com", "password": "benchmark!"},
    )
    return dict(data["signUp"])


async def _seed(http: httpx2.AsyncClient) -> str:
    reader = await _sign_up(http, "reader")
    for a in range(20):
        author = await _sign_up(http, f"author{a}")
        await _gql(
            http,
            "mutation($id: ID!) { follow(userId: $id) { status } }",
            reader["accessToken"],
            id=author["user"]["id"],
        )
        for t in range(10):
            await _gql(
                http,
                "mutation($t: String!) { postTweet(input: {text: $t}) { id } }",
                author["accessToken"],
                t=f"tweet {t} by {a} #bench",
            )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = await _gql(
            http, "{ homeTimeline(first: 20) { edges { cursor } } }", reader["accessToken"]
        )
        if len(page["homeTimeline"]["edges"]) == 20:
            break
        await asyncio.sleep(0.2)
    return str(reader["accessToken"])


async def _drive(base: str, query: str, token: str, seconds: float, clients: int) -> float:
    done = 0
    stop = time.monotonic() + seconds
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def client() -> None:
            nonlocal done
            while time.monotonic() < stop:
                response = await http.post(
                    "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
                )
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(response.text[:300])
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.monotonic() - started)


def _start_server() -> tuple[subprocess.Popen[bytes], str]:
    data = Path(tempfile.mkdtemp(prefix="chirp-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "CHIRP_DATA_DIR": str(data),
        "CHIRP_USERS_URL": f"sqlite:///{data}/chirp.db",
        "CHIRP_TWEETS_URL": f"sqlite:///{data}/chirp.db",
        "CHIRP_SEARCH_URL": f"sqlite:///{data}/chirp.db",
        "CHIRP_MEDIA_URL": f"file:///{data}/media",
        "CHIRP_ENV": "production",  # no per-operation store-call accounting in the figures
        "CHIRP_MUTATIONS_PER_MINUTE": "100000",
    }
    chirp = [sys.executable, "-m", "app.cli"]
    subprocess.run([*chirp, "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [*chirp, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}"


async def _main(args: argparse.Namespace, base: str) -> None:
    async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(100):
            try:
                await http.get("/healthz")
                break
            except httpx2.TransportError:
                await asyncio.sleep(0.1)
        token = await _seed(http)
    results: dict[str, list[float]] = {"floor": [], "timeline": []}
    await _drive(base, TIMELINE, token, 1.0, args.clients)  # warm caches and connections
    for _ in range(args.rounds):
        results["floor"].append(await _drive(base, FLOOR, token, args.seconds, args.clients))
        results["timeline"].append(await _drive(base, TIMELINE, token, args.seconds, args.clients))
    floor, timeline = (statistics.median(results[k]) for k in ("floor", "timeline"))
    print(f"{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s each, medians:")
    for label, key, median in (
        ("{ __typename }  (baseline)", "floor", floor),
        ("homeTimeline(first: 20)", "timeline", timeline),
    ):
        rounds = ", ".join(f"{r:.0f}" for r in results[key])
        print(f"  {label:<32} {median:8.0f} req/s   (rounds: {rounds})")
    print(f"  ratio timeline / floor: {timeline / floor:.2f}   (DESIGN.md goal: 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    server, base = _start_server()
    try:
        asyncio.run(_main(parser.parse_args(), base))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
