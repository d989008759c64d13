"""Reaching into a running test app for the data lifecycle's tests: its container and
stores, a store call on the app's event loop, a lifecycle pass, and the one clock (which
tests/conftest.py sets back to now after every test)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from storage import clock
from tests.support.client import GraphQLClient


def chirp(client: GraphQLClient) -> Any:
    """The app's container (`app.container.Chirp`)."""
    return client.http.app.state.chirp  # type: ignore[attr-defined]


def call(client: GraphQLClient, coroutine: Awaitable[Any]) -> Any:
    """Await a coroutine (a store call, say) on the app's own event loop."""

    async def run() -> Any:
        return await coroutine

    return client.http.portal.call(run)


def run_pass(client: GraphQLClient) -> Any:
    """One lifecycle pass now, as the worker runs it: what each step did, by step."""
    return client.http.portal.call(chirp(client).lifecycle.run_pass)


def travel(days: float) -> None:
    """Move the clock forward by `days` for the test app and the test alike."""
    clock.travel(timedelta(days=days))


def run_worker(settings: Any, until: Callable[[], bool], limit_s: float) -> None:
    """`chirp worker`'s loop (jobs and schedules) on `settings`' stores, in this process,
    until `until()` is true or `limit_s` has passed."""
    from app import container
    from app.jobs import STREAMS
    from storage.registry import migrate_all, open_stores

    async def run() -> None:
        await migrate_all(settings)
        stores = await open_stores(settings)
        try:
            worker = container.build(settings, stores).worker(STREAMS)
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop, wait_s=0.1))
            for _ in range(math.ceil(limit_s / 0.1)):
                if until():
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await running
        finally:
            await stores.close()

    asyncio.run(run())
