"""The Redis that scripts/services starts is the real one."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from tests.backends import backend_url


async def test_real_redis() -> None:
    client = Redis.from_url(backend_url("CHIRP_CACHE_URL"), socket_timeout=5)
    try:
        info = await client.info("server")
        assert int(str(info["redis_version"]).split(".")[0]) >= 7
        key = f"smoke:{secrets.token_hex(4)}"
        await client.set(key, b"chirp", ex=60)
        assert await client.get(key) == b"chirp"
        assert 0 < await client.ttl(key) <= 60
    finally:
        await client.aclose()
