"""RedisEventBus: live events over Redis pub/sub, so a subscriber on one server process
hears what another process published.

A process holds ONE pub/sub connection however many subscribers it has (a thousand open
websockets must not take a thousand connections, or the client's pool runs dry): a single
listener task reads it and hands each event to the local subscribers of its channel, each
through a bounded queue that drops its oldest event when a subscriber falls behind, so
one slow reader never holds up the others. Channels are subscribed on Redis while at least
one local subscriber wants them. When the connection drops, every local subscriber's
iteration raises Unavailable and the next subscribe connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from storage.errors import Unavailable
from storage.memory import DEFAULT_SUBSCRIBER_QUEUE, BoundedSubscription
from storage.records import Event
from storage.redis.client import redis_errors

CONFIRM_TIMEOUT_S = 5.0
CHANNELS_PER_CALL = 1_000
log = logging.getLogger("chirp.events")

# One message to many channels in one command: a fan-out of ten thousand events costs the
# client ten calls to encode and parse, not ten thousand. Channels are not keys, so the
# script runs anywhere (and PUBLISH reaches a cluster's every node).
_PUBLISH_TO_ALL = """
for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return #ARGV - 1
"""


class RedisEventBus:
    def __init__(self, client: Redis, subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE) -> None:
        self._client = client
        self._size = subscriber_queue
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._local: dict[str, set[BoundedSubscription]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._wanted = asyncio.Event()  # set while any channel is subscribed: the listener reads
        self._lock = asyncio.Lock()
        self._publish_to_all = client.register_script(_PUBLISH_TO_ALL)

    async def publish(self, channel: str, data: bytes) -> None:
        async with redis_errors("publish"):
            await self._client.publish(channel, data)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """One round trip for the lot (a pipeline, not a transaction); each run of messages
        with the same data is one script call per CHANNELS_PER_CALL channels."""
        if not messages:
            return
        runs: list[tuple[bytes, list[str]]] = []
        for channel, data in messages:
            if runs and runs[-1][0] == data and len(runs[-1][1]) < CHANNELS_PER_CALL:
                runs[-1][1].append(channel)
            else:
                runs.append((data, [channel]))
        async with redis_errors("publish"), self._client.pipeline(transaction=False) as pipe:
            for data, channels in runs:
                await self._publish_to_all(args=[data, *channels], client=pipe)
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, channels: Sequence[str]) -> AsyncIterator[AsyncIterator[Event]]:
        """Returns once Redis has confirmed every channel, so nothing published after entry
        is missed. Redis buffers for the shared connection; publishers never wait on it."""
        subscription = BoundedSubscription(frozenset(channels), self._size)
        try:
            await self._add(subscription)
            yield subscription
        finally:
            await self._remove(subscription)

    async def close(self) -> None:
        async with self._lock:
            await self._disconnect(None)

    async def _add(self, subscription: BoundedSubscription) -> None:
        async with self._lock:
            pubsub = await self._connected()
            new = [c for c in subscription.channels if c not in self._local]
            for channel in subscription.channels:
                self._local.setdefault(channel, set()).add(subscription)
            if not new:
                return
            waits = {
                channel: self._confirmed.setdefault(channel, asyncio.Event()) for channel in new
            }
            self._wanted.set()  # before subscribing: the listener reads the confirmations
            try:
                async with redis_errors("subscribe"):
                    await pubsub.subscribe(*new)
                    await asyncio.wait_for(
                        asyncio.gather(*(wait.wait() for wait in waits.values())),
                        CONFIRM_TIMEOUT_S,
                    )
            except (TimeoutError, Unavailable) as error:
                await self._disconnect(
                    Unavailable(f"Redis did not confirm a subscription: {error}")
                )
                raise Unavailable("Redis did not confirm the subscription") from error

    async def _remove(self, subscription: BoundedSubscription) -> None:
        async with self._lock:
            gone = []
            for channel in subscription.channels:
                local = self._local.get(channel)
                if local is None:
                    continue
                local.discard(subscription)
                if not local:
                    del self._local[channel]
                    self._confirmed.pop(channel, None)
                    gone.append(channel)
            if not self._local:
                self._wanted.clear()
            if gone and self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(*gone)

    async def _connected(self) -> PubSub:
        if self._pubsub is None:
            self._pubsub = self._client.pubsub()
            self._listener = asyncio.create_task(self._listen(self._pubsub))
        return self._pubsub

    async def _listen(self, pubsub: PubSub) -> None:
        try:
            while True:
                if not pubsub.subscribed:
                    await self._wanted.wait()  # nothing to read until a channel is wanted
                    await asyncio.sleep(0)  # let the subscribe command go out first
                    continue
                message: Any = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    self._dispatch(message)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as error:
            log.warning("live events: the Redis connection dropped (%s)", type(error).__name__)
            async with self._lock:
                if self._pubsub is pubsub:
                    self._listener = None  # this task: do not cancel it from within
                    await self._disconnect(Unavailable(f"Redis unavailable (listen): {error}"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = _text(message["channel"])
        if message["type"] == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is not None:
                confirmed.set()
        elif message["type"] == "message":
            event = Event(channel, bytes(message["data"]))
            for subscription in list(self._local.get(channel, ())):
                subscription.offer(event)

    async def _disconnect(self, error: Unavailable | None) -> None:
        """Drop the shared connection; local subscribers end (with `error`, if given)."""
        pubsub, listener = self._pubsub, self._listener
        self._pubsub = self._listener = None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for subscriptions in self._local.values():
            for subscription in subscriptions:
                if error is None:
                    subscription.close()
                else:
                    subscription.fail(error)
        self._local.clear()
        self._confirmed.clear()
        self._wanted.clear()
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
