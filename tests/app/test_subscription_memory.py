"""A long-lived subscription holds on to nothing per event: graphql-core 3.3's per-event
executors share a memo that grew about a kilobyte with every event delivered, for as long
as the subscription lived. The executor the app's schema runs gives each event its own."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

from graphql import build_schema as build_sdl
from graphql import parse, subscribe

from app.settings import Settings
from schema.schema import build_schema

EVENTS = 3000


async def test_memory_stays_flat_while_a_subscription_delivers_thousands_of_events() -> None:
    executor_class = build_schema(Settings()).execution_context_class  # what `chirp serve` runs
    schema = build_sdl(
        "type Query { x: Int } type E { a: Int b: String } type Subscription { e: E }"
    )

    async def events(_root: Any, _info: Any) -> AsyncIterator[dict[str, Any]]:
        for n in range(EVENTS):
            yield {"e": {"a": n, "b": "text"}}

    field = schema.subscription_type.fields["e"]  # type: ignore[union-attr]
    field.subscribe = events
    field.resolve = lambda payload, _info: payload["e"]
    stream: Any = subscribe(
        schema, parse("subscription { e { a b } }"), executor_class=executor_class
    )
    tracemalloc.start()
    try:
        delivered = 0
        async for result in stream:
            assert result.data == {"e": {"a": delivered, "b": "text"}}
            delivered += 1
            if delivered == 500:
                settled = tracemalloc.get_traced_memory()[0]
        grown = tracemalloc.get_traced_memory()[0] - settled
    finally:
        tracemalloc.stop()
    assert delivered == EVENTS
    # Leaking, 2,500 events held about 2.5 MB; flat, a few kilobytes of noise.
    assert grown < 200_000, f"{grown} bytes kept over {EVENTS - 500} events"
