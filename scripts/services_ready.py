"""Waits until one engine answers a real query through the client the product uses.

    services_ready.py ENGINE PORT TIMEOUT_S LOGFILE

Exits 0 once it answers (creating what the tests need: the two PostgreSQL databases, the
S3 bucket), or 1 after TIMEOUT_S with an error naming the engine and its log file.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

DATABASES = ("chirp_shard0", "chirp_shard1")
BUCKET = "chirp-media"


async def postgres(port: int) -> str:
    import asyncpg

    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user="chirp", database="postgres", timeout=3
    )
    try:
        for name in DATABASES:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def redis(port: int) -> str:
    from redis.asyncio import Redis

    client = Redis(host="127.0.0.1", port=port, socket_timeout=3, socket_connect_timeout=3)
    try:
        info = await client.info("server")
        return str(info["redis_version"])
    finally:
        await client.aclose()


async def cassandra(port: int) -> str:
    from cassandra.cluster import Cluster

    def query() -> str:
        cluster = Cluster(["127.0.0.1"], port=port, connect_timeout=3, protocol_version=5)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            return str(row.release_version)
        finally:
            cluster.shutdown()

    return await asyncio.to_thread(query)


async def elasticsearch(port: int) -> str:
    from elasticsearch import AsyncElasticsearch

    client = AsyncElasticsearch(f"http://127.0.0.1:{port}", request_timeout=5)
    try:
        info = await client.info()  # the client also checks the server really is Elasticsearch
        return str(info["version"]["number"])
    finally:
        await client.close()


async def s3(port: int) -> str:
    import aioboto3
    from botocore.exceptions import ClientError

    session = aioboto3.Session()
    async with session.client("s3", endpoint_url=f"http://127.0.0.1:{port}") as client:
        try:
            await client.head_bucket(Bucket=BUCKET)
        except ClientError:
            await client.create_bucket(Bucket=BUCKET)
        await client.head_bucket(Bucket=BUCKET)
    return f"bucket {BUCKET}"


CHECKS: dict[str, Callable[[int], Awaitable[str]]] = {
    "postgres": postgres,
    "redis": redis,
    "cassandra": cassandra,
    "elasticsearch": elasticsearch,
    "s3": s3,
}


async def wait(engine: str, port: int, timeout_s: float, log: str) -> int:
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    started = time.monotonic()
    while time.monotonic() < deadline:
        try:
            version = await asyncio.wait_for(CHECKS[engine](port), timeout=15)
        except Exception as error:  # not up yet: keep trying until the deadline
            last = error
            await asyncio.sleep(1)
            continue
        print(
            f"services: {engine} up on 127.0.0.1:{port} ({version}) "
            f"after {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        return 0
    print(
        f"services: {engine} did not answer on 127.0.0.1:{port} within {timeout_s:.0f} s "
        f"({type(last).__name__}: {last}); see {log}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    engine, port, timeout_s, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    raise SystemExit(asyncio.run(wait(engine, port, timeout_s, log)))
