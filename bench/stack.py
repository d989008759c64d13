"""The product under test, started the way users run it, on engines of its own for one run.

Shared by bench/ingest.py, fanout.py, live.py and indexing.py. With the real engines'
variables set (`eval "$(scripts/services env)"`), a run gets fresh, private places on the
same servers and removes them at the end:

    Cassandra       keyspace bench_<stamp> (CHIRP_TWEETS_URL's keyspace replaced)
    PostgreSQL      databases bench_<stamp>_<n>, one per shard in CHIRP_USERS_URL
    Elasticsearch   aliases bench_<stamp> and bench_<stamp>_users (their -v1 indexes)
    Redis           database --redis-db (default 15): flushed before and after the run, so
                    the job streams, caches and timeline sets are the run's own and no job
                    of another process (a test run on database 0) is ever taken
    data folder     a temporary CHIRP_DATA_DIR (the queue's spool)

Without them it runs on the embedded default in a temporary data folder. `chirp migrate`,
`chirp serve --port P` (CHIRP_RUN_WORKERS=0) and N `chirp worker` processes are started
from .venv/bin/chirp with one environment; all are stopped at the end, also on Ctrl-C,
SIGTERM, an exception or the run's time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import ipaddress
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from websockets.asyncio.client import ClientConnection, connect

from app.ids import SnowflakeGenerator
from app.settings import Settings, from_env
from app.tokens import AccessTokens
from storage.ports import TimelineStore
from storage.records import UserRecord, utcnow
from storage.registry import Stores, open_port, open_stores

ROOT = Path(__file__).resolve().parent.parent
CHIRP = ROOT / ".venv" / "bin" / "chirp"
POST = "mutation($input: PostTweetInput!) { postTweet(input: $input) { id databaseId } }"
BENCH_WORKER_ID = 1000  # Snowflake worker id of the bench process (users it creates)
SETUP_CONCURRENCY = 64
FOLLOW_CHUNK = 500  # edges per follow_many call
_BACKLOG = re.compile(r'^chirp_job_backlog\{stream="([^"]*)"\}\s+([0-9.eE+-]+)\s*$', re.M)
_STORE_CALLS = re.compile(r'^chirp_store_calls_total\{method="([^"]*)"\}\s+([0-9.eE+-]+)\s*$', re.M)


def add_common_options(parser: argparse.ArgumentParser, workers: int = 1) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=workers,
        help="`chirp worker` processes; 0 runs the jobs inside the server instead",
    )
    parser.add_argument("--redis-db", type=int, default=15, help="Redis database of the run")
    parser.add_argument(
        "--time-limit", type=float, default=1800, help="seconds before the whole run is stopped"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's keyspace etc.")
    parser.add_argument("--verbose", action="store_true", help="show server and worker logs")


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile; math.inf counts as a value (an undelivered sample)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else math.nan


def ms(seconds: float) -> str:
    if math.isinf(seconds):
        return "never"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def real_engines() -> bool:
    """The real engines' variables are set (scripts/services env)."""
    return os.environ.get("CHIRP_TWEETS_URL", "").startswith("cassandra://")


def _loopback_only(urls: Iterable[str]) -> None:
    for url in urls:
        for part in url.split(","):
            host = urlsplit(part if "://" in part else f"x://{part}").hostname or ""
            if host and host != "localhost" and not _loopback(host):
                raise SystemExit(f"refusing to benchmark a non-loopback engine: {url}")


def _loopback(host: str) -> bool:
    """127.0.0.0/8 or ::1 (the replicated profile's nodes are on 127.0.0.2 and .3)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Stack:
    """One run's engines, processes, stores (opened in this process) and token signer."""

    def __init__(self, args: argparse.Namespace, extra_env: dict[str, str] | None = None) -> None:
        self.args = args
        self.stamp = f"bench_{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
        self.real = real_engines()
        self.data_dir = Path(tempfile.mkdtemp(prefix="chirp-bench-"))
        self.secret = secrets.token_urlsafe(48)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.stores: Stores | None = None
        self.ids = SnowflakeGenerator(BENCH_WORKER_ID)
        self.tokens = AccessTokens(self.secret, 24 * 3600)
        self._pg_databases: list[tuple[str, str]] = []  # (admin dsn, database)
        self._dropped_keyspace = False
        self.env = self._environment(extra_env or {})
        self.settings: Settings = from_env(self.env)

    # ------------------------------------------------------------------ environment
    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CHIRP_") or key.endswith("_URL")
        }
        env.update(
            CHIRP_DATA_DIR=str(self.data_dir),
            CHIRP_SECRET_KEY=self.secret,
            CHIRP_ENV="production",  # no per-operation store-call accounting in the figures
            CHIRP_METRICS_TOKEN=self.secret,  # production serves /metrics only with a token
            CHIRP_MUTATIONS_PER_MINUTE="100000000",
            CHIRP_ACCESS_TOKEN_TTL=str(24 * 3600),
            CHIRP_RUN_WORKERS="0" if self.args.workers > 0 else "1",
            CHIRP_PUBLIC_BASE_URL=self.base,
        )
        if self.real:
            env.pop("CHIRP_QUEUE_URL", None)  # the queue follows the run's Redis database
            _loopback_only(
                env[name]
                for name in ("CHIRP_TWEETS_URL", "CHIRP_USERS_URL", "CHIRP_CACHE_URL")
                if env.get(name)
            )
            env["CHIRP_TWEETS_URL"] = _with_path(env["CHIRP_TWEETS_URL"], self.stamp)
            self._pg_databases = [
                (dsn, f"{self.stamp}_{n}")
                for n, dsn in enumerate(env["CHIRP_USERS_URL"].split(","))
            ]
            env["CHIRP_USERS_URL"] = ",".join(_with_path(a, db) for a, db in self._pg_databases)
            search = env.get("CHIRP_SEARCH_URL", "")
            if search.startswith("http"):
                _loopback_only([search])
                # The run's own tweets and people aliases (both dropped with bench_<stamp>*).
                own = f"alias={self.stamp}&users_alias={self.stamp}_users"
                env["CHIRP_SEARCH_URL"] = _with_query(search, own)
            cache = env.get("CHIRP_CACHE_URL", "")
            if cache.startswith("redis://"):
                env["CHIRP_CACHE_URL"] = _with_path(cache, str(self.args.redis_db))
        else:
            for name in ("CHIRP_USERS_URL", "CHIRP_TWEETS_URL", "CHIRP_SEARCH_URL"):
                env[name] = f"sqlite:///{self.data_dir}/chirp.db"
            env["CHIRP_MEDIA_URL"] = f"file:///{self.data_dir}/media"
            env["CHIRP_CACHE_URL"] = "memory://"
        env.update(extra)
        return env

    @property
    def redis_url(self) -> str | None:
        cache = self.env.get("CHIRP_CACHE_URL", "")
        return cache if cache.startswith("redis://") else None

    @property
    def search_alias(self) -> str | None:
        search = self.env.get("CHIRP_SEARCH_URL", "")
        return self.stamp if search.startswith("http") else None

    def describe(self) -> str:
        where = "real engines" if self.real else "embedded default (SQLite, in-process cache)"
        jobs = f"{self.args.workers} `chirp worker`" if self.args.workers else "in-server jobs"
        return f"{where}; 1 `chirp serve` + {jobs}; run {self.stamp}"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if self.real:
            await self._create_pg_databases()
            await self._flush_redis()
        migrate = await asyncio.to_thread(
            subprocess.run, [str(CHIRP), "migrate"], env=self.env, capture_output=True, text=True
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"chirp migrate failed:\n{migrate.stderr[-2000:]}")
        self.stores = await open_stores(self.settings)
        self._spawn("server", ["serve", "--port", str(self.port)], worker_id=1)
        for n in range(self.args.workers):
            self._spawn(f"worker{n}", ["worker"], worker_id=2 + n)
        await self._wait_ready()

    async def restart_server(self, processes: int = 1, env: dict[str, str] | None = None) -> None:
        """Stop `chirp serve` and start it again (its in-process caches start empty), with
        `--workers processes` and settings `env` on top of the run's."""
        server = self.processes.pop(0)  # start() spawns it first
        server.send_signal(signal.SIGTERM)
        await asyncio.to_thread(server.wait, 40)
        command = ["serve", "--port", str(self.port), "--workers", str(processes)]
        self._spawn("server", command, worker_id=1 if processes == 1 else 100, env=env)
        self.processes.insert(0, self.processes.pop())
        await self._wait_ready()

    def _spawn(
        self, name: str, command: list[str], worker_id: int, env: dict[str, str] | None = None
    ) -> None:
        """Start a `chirp` process of this run (`env`: settings of its own on top)."""
        log = None if self.args.verbose else open(self.data_dir / f"{name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [str(CHIRP), *command],
            env={**self.env, **(env or {}), "CHIRP_WORKER_ID": str(worker_id)},
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,  # Ctrl-C reaches the bench only; it stops them itself
        )
        self.processes.append(process)

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient(base_url=self.base, timeout=5) as http:
            while time.monotonic() < deadline:
                self.check_alive()
                with contextlib.suppress(httpx2.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the server did not become ready; logs in {self.data_dir}")

    def check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(map(str, process.args))} exited with {process.returncode}; "  # type: ignore[arg-type]
                    f"logs in {self.data_dir} (kept)"
                )

    def stop_processes(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    async def close(self) -> None:
        """Stop the processes, close the stores, remove the run's places (best effort)."""
        await asyncio.to_thread(self.stop_processes)
        failed = any(p.returncode not in (0, -signal.SIGTERM) for p in self.processes)
        if self.stores is not None:
            with contextlib.suppress(Exception):
                await self.stores.close()
        if self.args.keep:
            print(f"kept: {self.stamp} and {self.data_dir}")
            return
        if self.real:
            for step in (self._drop_keyspace, self._drop_pg_databases, self._drop_search):
                try:
                    await asyncio.wait_for(step(), 120)
                except Exception as error:  # clean-up must not hide the figures
                    print(f"clean-up: {step.__name__}: {type(error).__name__}: {error}")
            with contextlib.suppress(Exception):
                await self._flush_redis()
        if not failed:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ engines
    async def _create_pg_databases(self) -> None:
        import asyncpg

        for admin, database in self._pg_databases:
            connection = await asyncpg.connect(admin)
            try:
                await connection.execute(f'CREATE DATABASE "{database}"')
            finally:
                await connection.close()

    async def _drop_pg_databases(self) -> None:
        import asyncpg

        for admin, database in self._pg_databases:
            connection = await asyncpg.connect(admin)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            finally:
                await connection.close()

    async def _drop_keyspace(self) -> None:
        from storage.cassandra.session import CassandraUrl, connect

        def drop() -> None:
            cluster, session = connect(CassandraUrl(self.env["CHIRP_TWEETS_URL"]))
            try:
                session.execute(f"DROP KEYSPACE IF EXISTS {self.stamp}", timeout=60)
            finally:
                cluster.shutdown()

        await asyncio.to_thread(drop)

    async def _drop_search(self) -> None:
        if self.search_alias is None:
            return
        async with self.elasticsearch() as client:
            found = await client.indices.get(index=f"{self.stamp}*", ignore_unavailable=True)
            for index in found:  # by name: wildcard deletes are refused by default
                await client.indices.delete(index=index)

    async def _flush_redis(self) -> None:
        if self.redis_url is None:
            return
        original = os.environ.get("CHIRP_CACHE_URL", "")
        if _db_of(original) == self.args.redis_db:
            raise SystemExit(
                f"--redis-db {self.args.redis_db} is CHIRP_CACHE_URL's own database; "
                "the bench flushes its database, so pick another"
            )
        async with self.redis() as client:
            await client.flushdb()

    @contextlib.asynccontextmanager
    async def redis(self) -> Any:
        from redis.asyncio import Redis

        assert self.redis_url is not None
        client = Redis.from_url(self.redis_url, socket_timeout=30)
        try:
            yield client
        finally:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def elasticsearch(self) -> Any:
        from elasticsearch import AsyncElasticsearch

        from storage.elasticsearch import nodes_of, parse_url

        server, _ = parse_url(self.env["CHIRP_SEARCH_URL"])
        client = AsyncElasticsearch(nodes_of(server), request_timeout=60)
        try:
            yield client
        finally:
            await client.close()

    # ------------------------------------------------------------------ data
    async def create_users(self, count: int, prefix: str) -> list[int]:
        """User rows straight into the user store (no sign-up, no password hashing)."""
        assert self.stores is not None
        users = self.stores.users
        ids = [self.ids.next_id() for _ in range(count)]
        now = utcnow()

        async def create(n: int, user_id: int) -> None:
            name = f"{prefix}{n}"
            await users.create(
                UserRecord(
                    id=user_id,
                    username=name,
                    email=f"{name}@bench.invalid",
                    password_hash="!",  # no password: the bench signs tokens itself
                    display_name=name,
                    created_at=now,
                    updated_at=now,
                )
            )

        await bounded(
            (create(n, user_id) for n, user_id in enumerate(ids)), SETUP_CONCURRENCY, "users"
        )
        return ids

    async def follow_all(self, edges: Sequence[tuple[int, int]]) -> None:
        """(follower, followee) edges through the follow graph, then the stats in one call
        per user (the celebrity threshold reads followers_count)."""
        assert self.stores is not None
        stores = self.stores
        base = utcnow()
        chunks = [
            edges[start : start + FOLLOW_CHUNK] for start in range(0, len(edges), FOLLOW_CHUNK)
        ]
        await bounded(
            (stores.graph.follow_many(chunk, base) for chunk in chunks),
            SETUP_CONCURRENCY,
            "follow chunks",
        )
        followers: dict[int, int] = {}
        following: dict[int, int] = {}
        for follower, followee in edges:
            followers[followee] = followers.get(followee, 0) + 1
            following[follower] = following.get(follower, 0) + 1
        updates = [
            stores.users.add_to_stats(user, {"followers_count": count})
            for user, count in followers.items()
        ] + [
            stores.users.add_to_stats(user, {"following_count": count})
            for user, count in following.items()
        ]
        await bounded(updates, SETUP_CONCURRENCY, "stats")

    async def stored_timelines(self) -> TimelineStore:
        """The timeline store itself (Cassandra or SQLite), without the Redis cache in front."""
        assert self.stores is not None
        return await open_port("timelines", self.settings.tweets_url, self.stores.resources)  # type: ignore[no-any-return]

    def token(self, user_id: int) -> str:
        """A token of a session of its own, never revoked (the seeded users never logged in)."""
        return self.tokens.issue(user_id, self.ids.next_id())

    # ------------------------------------------------------------------ HTTP
    def http(self, connections: int = 64) -> httpx2.AsyncClient:
        limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx2.AsyncClient(base_url=self.base, limits=limits, timeout=60)

    async def backlog(self, http: httpx2.AsyncClient) -> float | None:
        """Sum of `chirp_job_backlog{stream=...}` on the server's /metrics; None if absent."""
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {self.secret}"})
        found = _BACKLOG.findall(response.text)
        return sum(float(value) for _, value in found) if found else None

    async def store_calls(self, http: httpx2.AsyncClient) -> Counter[str]:
        """The server's store and cache calls so far, by method (`chirp_store_calls_total`
        on its /metrics; in-server jobs included, a `chirp worker`'s not)."""
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {self.secret}"})
        return Counter({m: int(float(n)) for m, n in _STORE_CALLS.findall(response.text)})


async def post_tweet(http: httpx2.AsyncClient, token: str, text: str) -> int:
    """postTweet over HTTP; returns the tweet's database id."""
    response = await http.post(
        "/graphql",
        json={"query": POST, "variables": {"input": {"text": text}}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"postTweet: HTTP {response.status_code} {str(body)[:300]}")
    return int(body["data"]["postTweet"]["databaseId"])


async def bounded(jobs: Iterable[Awaitable[Any]], limit: int, what: str) -> None:
    """Run the awaitables with at most `limit` in flight, printing progress."""
    semaphore = asyncio.Semaphore(limit)
    started = time.monotonic()
    pending = list(jobs)
    done = 0

    async def run(job: Awaitable[Any]) -> None:
        nonlocal done
        async with semaphore:
            await job
        done += 1
        if done % 5000 == 0:
            print(f"  setup: {done}/{len(pending)} {what}", flush=True)

    try:
        await asyncio.gather(*(run(job) for job in pending))
    except BaseException:
        for job in pending:  # never started: close them quietly
            if inspect.iscoroutine(job):
                job.close()
        raise
    if len(pending) >= 1000:
        print(f"  setup: {len(pending)} {what} in {time.monotonic() - started:.1f} s", flush=True)


def run(
    args: argparse.Namespace,
    body: Callable[[Stack], Awaitable[None]],
    extra_env: dict[str, str] | None = None,
) -> None:
    """Start the stack, run the benchmark body within --time-limit, always clean up."""

    def stop_on_sigterm(signum: int, frame: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # asyncio.run cancels the run: clean-up follows

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    signal.signal(signal.SIGTERM, stop_on_sigterm)

    async def main() -> None:
        stack = Stack(args, extra_env)
        print(stack.describe(), flush=True)
        try:
            async with asyncio.timeout(args.time_limit):
                await stack.start()
                await body(stack)
        except TimeoutError:
            print(f"stopped: the run passed --time-limit {args.time_limit:g} s")
            raise SystemExit(3) from None
        finally:
            await asyncio.shield(stack.close())

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("interrupted; processes stopped")
        raise SystemExit(130) from None


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{path}"))


def _with_query(url: str, query: str) -> str:
    parts = urlsplit(url)
    joined = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=joined))


def _db_of(redis_url: str) -> int:
    path = urlsplit(redis_url).path.strip("/")
    return int(path) if path.isdigit() else 0


# ---------------------------------------------------------------------- live clients
async def open_subscription(url: str, token: str, op_id: str, query: str) -> ClientConnection:
    """A websocket (graphql-transport-ws) logged in with `token` and subscribed to `query`."""
    socket = await connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        open_timeout=60,
        ping_interval=None,
        max_queue=None,
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
    if ack.get("type") != "connection_ack":
        await socket.close()
        raise RuntimeError(f"connection_init refused: {ack}")
    payload = {"query": query, "variables": {}}
    await socket.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
    return socket


def prepare_live(args: argparse.Namespace) -> None:
    """For a bench of live subscribers (--subscribers): room for their sockets, and, on the
    embedded default, jobs in the server, since its event bus is in-process."""
    allow_sockets(args.subscribers)
    if not real_engines() and args.workers:
        print("embedded default: the event bus is in-process, so jobs run in the server")
        args.workers = 0


def rss_mb(pid: int) -> float:
    """A process's resident memory (VmRSS), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def allow_sockets(count: int) -> None:
    """Raise this process's open-file limit for `count` websockets (inherited by the server
    it starts, which holds the other end of each)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count * 2 + 1_024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


async def http_floor(stack_: Stack, rounds: int) -> list[float]:
    """Round trips of `{ __typename }` to the server, one at a time: its floor."""
    times = []
    async with stack_.http(1) as http:
        for _ in range(rounds):
            started = time.monotonic()
            (await http.post("/graphql", json={"query": "{ __typename }"})).raise_for_status()
            times.append(time.monotonic() - started)
    return times
