"""RedisEventBus: live events over Redis pub/sub, so a subscriber on one server process
hears what another process published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from storage.records import Event
from storage.redis.client import redis_errors


class RedisEventBus:
    def __init__(self, client: Redis) -> None:
        self._client = client

    async def publish(self, channel: str, data: bytes) -> None:
        async with redis_errors("publish"):
            await self._client.publish(channel, data)

    @asynccontextmanager
    async def subscribe(self, channels: Sequence[str]) -> AsyncIterator[AsyncIterator[Event]]:
        """Returns once Redis has confirmed every subscription, so nothing published after
        entry is missed. Redis buffers for a slow reader; publishers never wait on it."""
        pubsub = self._client.pubsub()
        try:
            async with redis_errors("subscribe"):
                await pubsub.subscribe(*channels)
                confirmed = 0
                while confirmed < len(set(channels)):
                    message = await pubsub.get_message(timeout=5.0)
                    if message is None:
                        raise TimeoutError("Redis did not confirm the subscription")
                    if message["type"] == "subscribe":
                        confirmed += 1
            yield _events(pubsub)
        finally:
            await pubsub.aclose()


async def _events(pubsub: PubSub) -> AsyncIterator[Event]:
    while True:
        async with redis_errors("listen"):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if message is not None and message["type"] == "message":
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            yield Event(name, bytes(message["data"]))
