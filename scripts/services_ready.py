"""Waits until one engine answers a real query through the client the product uses.

    services_ready.py ENGINE [HOST:]PORT TIMEOUT_S LOGFILE

HOST is 127.0.0.1 unless given (the replicated profile's nodes listen on 127.0.0.2 and .3).

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


async def postgres(host: str, port: int) -> str:
    import asyncpg

    conn = await asyncpg.connect(host=host, port=port, user="chirp", database="postgres", timeout=3)
    try:
        for name in DATABASES:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def redis(host: str, port: int) -> str:
    from redis.asyncio import Redis

    client = Redis(host=host, port=port, socket_timeout=3, socket_connect_timeout=3)
    try:
        info = await client.info("server")
        return str(info["redis_version"])
    finally:
        await client.aclose()


async def cassandra(host: str, port: int) -> str:
    from cassandra.cluster import Cluster

    def query() -> str:
        cluster = Cluster([host], port=port, connect_timeout=3, protocol_version=5)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            return str(row.release_version)
        finally:
            cluster.shutdown()

    return await asyncio.to_thread(query)


async def elasticsearch(host: str, port: int) -> str:
    from elasticsearch import AsyncElasticsearch

    client = AsyncElasticsearch(f"http://{host}:{port}", request_timeout=5)
    try:
        info = await client.info()  # the client also checks the server really is Elasticsearch
        return str(info["version"]["number"])
    finally:
        await client.close()


async def s3(host: str, port: int) -> str:
    import aioboto3
    from botocore.exceptions import ClientError

    session = aioboto3.Session()
    async with session.client("s3", endpoint_url=f"http://{host}:{port}") as client:
        try:
            await client.head_bucket(Bucket=BUCKET)
        except ClientError:
            await client.create_bucket(Bucket=BUCKET)
        await client.head_bucket(Bucket=BUCKET)
    return f"bucket {BUCKET}"


RING = 3  # the replicated profile's nodes of Cassandra and of Elasticsearch


async def cassandra_ring(host: str, port: int) -> str:
    """Every node of the ring up, as the driver sees it through this one."""
    from cassandra.cluster import Cluster

    def query() -> str:
        cluster = Cluster([host], port=port, connect_timeout=3, protocol_version=5)
        try:
            cluster.connect()
            up = sorted(str(h.address) for h in cluster.metadata.all_hosts() if h.is_up)
            if len(up) < RING:
                raise RuntimeError(f"only {up} up")
            return f"ring of {', '.join(up)}"
        finally:
            cluster.shutdown()

    return await asyncio.to_thread(query)


async def elasticsearch_cluster(host: str, port: int) -> str:
    """Every node joined, with an elected master."""
    from elasticsearch import AsyncElasticsearch

    client = AsyncElasticsearch(f"http://{host}:{port}", request_timeout=10)
    try:
        health = await client.cluster.health(wait_for_nodes=f">={RING}", timeout="5s")
        if health["timed_out"] or health["number_of_nodes"] < RING:
            raise RuntimeError(f"{health['number_of_nodes']} nodes")
        return f"cluster of {health['number_of_nodes']} nodes, {health['status']}"
    finally:
        await client.close()


CHECKS: dict[str, Callable[[str, int], Awaitable[str]]] = {
    "cassandra-ring": cassandra_ring,
    "elasticsearch-cluster": elasticsearch_cluster,
    "postgres": postgres,
    "redis": redis,
    "cassandra": cassandra,
    "elasticsearch": elasticsearch,
    "s3": s3,
}


async def wait(engine: str, host: str, port: int, timeout_s: float, log: str) -> int:
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    started = time.monotonic()
    while time.monotonic() < deadline:
        try:
            version = await asyncio.wait_for(CHECKS[engine](host, port), timeout=15)
        except Exception as error:  # not up yet: keep trying until the deadline
            last = error
            await asyncio.sleep(1)
            continue
        print(
            f"services: {engine} up on {host}:{port} ({version}) "
            f"after {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        return 0
    print(
        f"services: {engine} did not answer on {host}:{port} within {timeout_s:.0f} s "
        f"({type(last).__name__}: {last}); see {log}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    engine, address, timeout_s, log = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    host, _, port = address.rpartition(":")
    raise SystemExit(asyncio.run(wait(engine, host or "127.0.0.1", int(port), timeout_s, log)))
