"""Event-based invalidation: a write on one process evicts the L1 copies on every other
process. ReadThrough.invalidate evicts locally and in the shared cache, then announces the
ids here; every process listens and forgets its own copies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from storage.errors import StorageError
from storage.ports import EventBus

CHANNEL = "chirp:invalidate"
log = logging.getLogger("chirp.invalidation")


class Invalidation:
    def __init__(self, events: EventBus) -> None:
        self._events = events
        self._caches: dict[str, Any] = {}  # prefix -> ReadThrough

    def register(self, prefix: str, cache: Any) -> None:
        """Announced ids with this prefix are forgotten by `cache` (a ReadThrough)."""
        self._caches[prefix] = cache

    async def announce(self, prefix: str, ids: Sequence[int]) -> None:
        try:
            await self._events.publish(
                CHANNEL, json.dumps({"prefix": prefix, "ids": list(ids)}).encode()
            )
        except StorageError:  # the shared bus is down: other processes' L1 expires in a minute
            log.warning("could not announce an invalidation of %s %s", prefix, list(ids)[:5])

    async def listen(self, ready: asyncio.Event | None = None) -> None:
        """Forget announced ids until cancelled; reconnects when the bus drops."""
        while True:
            try:
                async with self._events.subscribe([CHANNEL]) as events:
                    if ready is not None:
                        ready.set()
                    async for event in events:
                        message = json.loads(event.data)
                        cache = self._caches.get(message["prefix"])
                        if cache is not None:
                            cache.forget_local([int(i) for i in message["ids"]])
            except StorageError:
                log.warning("invalidation listener lost the event bus; retrying", exc_info=True)
                await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def listening(invalidation: Invalidation) -> Any:
    ready = asyncio.Event()
    task = asyncio.create_task(invalidation.listen(ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
