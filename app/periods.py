"""Work the worker does once a period across every process: each process wakes every
`every_s`, and the first to take the period's lease in the shared cache does the period's
work (on the embedded default the cache is the process's own, so each process does it)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from storage.ports import Cache
from storage.records import utcnow


async def leased_periods(
    stop: asyncio.Event, every_s: float, cache: Cache, name: str
) -> AsyncIterator[int]:
    """Until `stop`: every `every_s`, the period's number if this process took its lease."""
    if every_s <= 0:
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        period = math.floor(utcnow().timestamp() / every_s)
        if await cache.incr(f"{name}:{period}", every_s * 2) == 1:
            yield period
