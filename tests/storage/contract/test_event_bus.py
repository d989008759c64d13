"""EventBus contract: every subscriber of a channel gets its events in order, from the
moment it subscribed, and a subscriber that never reads does not hold publishers up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from storage.ports import EventBus
from storage.records import Event

TIMEOUT_S = 5.0


@pytest.fixture
def channel(unique: Callable[[str], str]) -> Callable[[str], str]:
    prefix = unique("contract")
    return lambda name: f"{prefix}:{name}"


async def _next(events: AsyncIterator[Event]) -> Event:
    return await asyncio.wait_for(anext(events), TIMEOUT_S)


async def test_two_subscribers_each_get_every_event_in_order(
    event_bus: EventBus, channel: Callable[[str], str]
) -> None:
    home = channel("home")
    async with event_bus.subscribe([home]) as first, event_bus.subscribe([home]) as second:
        for number in range(3):
            await event_bus.publish(home, b"event %d" % number)
        for events in (first, second):
            received = [await _next(events) for _ in range(3)]
            assert received == [Event(home, b"event %d" % n) for n in range(3)]


async def test_only_subscribed_channels_are_delivered(
    event_bus: EventBus, channel: Callable[[str], str]
) -> None:
    wanted, other, also = channel("wanted"), channel("other"), channel("also")
    async with event_bus.subscribe([wanted, also]) as events:
        await event_bus.publish(other, b"not for me")
        await event_bus.publish(also, b"one")
        await event_bus.publish(wanted, b"two")
        assert [await _next(events), await _next(events)] == [
            Event(also, b"one"),
            Event(wanted, b"two"),
        ]


async def test_nothing_published_before_subscribing_is_delivered(
    event_bus: EventBus, channel: Callable[[str], str]
) -> None:
    news = channel("news")
    await event_bus.publish(news, b"too early")
    async with event_bus.subscribe([news]) as events:
        await event_bus.publish(news, b"on time")
        assert await _next(events) == Event(news, b"on time")


async def test_a_subscriber_that_never_reads_does_not_block_publishers(
    event_bus: EventBus, channel: Callable[[str], str]
) -> None:
    busy = channel("busy")
    async with event_bus.subscribe([busy]), event_bus.subscribe([busy]) as reader:
        started = time.monotonic()
        for number in range(5_000):
            await asyncio.wait_for(event_bus.publish(busy, b"%d" % number), TIMEOUT_S)
        assert time.monotonic() - started < TIMEOUT_S
        await event_bus.publish(busy, b"last")
        # The reader may have lost older events, never the newest.
        while (await _next(reader)).data != b"last":
            pass
