"""fan_out {"tweet_id"}: write a new tweet into its followers' stored home timelines (live
subscribers hear of it through the `announce` job). Celebrities' tweets are not fanned out:
readers merge them in (hybrid fan-out).

The worker hands over many fan-out jobs at once. Their tweets are read in one call, each
author's followers once however many of its tweets the batch holds, and the deliveries of
all of them are pushed together, `fan_out_batch` rows a push, a few pushes in flight: many
small fan-outs cost a few large writes, not a few writes each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import AUTHORS_IN_FLIGHT, DELIVERY, JobDeps, Payload, follower_batches, tweets_of
from storage.ports import TimelineStore
from storage.records import TimelineEntry, TimelineKind, TweetRecord

PUSHES_IN_FLIGHT = 8  # timeline writes at once, across all the calls a worker runs


class FanOut:
    kind: ClassVar[str] = "fan_out"
    stream: ClassVar[str] = DELIVERY
    max_batch: ClassVar[int] = 64

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._batch = deps.fan_out_batch
        # Shared by every call in flight: a worker running 32 calls still writes at most
        # PUSHES_IN_FLIGHT batches at once (and holds as many connections).
        self._pushing = asyncio.Semaphore(PUSHES_IN_FLIGHT)
        self._reading = asyncio.Semaphore(AUTHORS_IN_FLIGHT)

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        by_author: dict[int, list[TimelineEntry]] = {}
        for tweet in await tweets_of(self._stores, payloads):
            if not tweet.is_deleted:
                by_author.setdefault(tweet.user_id, []).append(timeline_entry(tweet))
        celebrities = set(await self._celebrities.ids())
        # O(1) writes for celebrities: followers merge them in when they read.
        fanned = {a: entries for a, entries in by_author.items() if a not in celebrities}
        if not fanned:
            return
        async with asyncio.TaskGroup() as tasks:
            pushes = _Pushes(self._stores.timelines, tasks, self._batch, self._pushing)
            async with asyncio.TaskGroup() as authors:
                for author, entries in fanned.items():
                    authors.create_task(self._deliver(author, entries, pushes))
            pushes.flush()

    async def _deliver(
        self,
        author_id: int,
        entries: list[TimelineEntry],
        pushes: _Pushes,
    ) -> None:
        async with self._reading:
            async for followers in follower_batches(self._stores.graph, author_id, self._batch):
                await pushes.add([(entry, followers) for entry in entries])


class _Pushes:
    """Deliveries gathered across tweets and pushed `rows` at a time; the next followers are
    read while earlier pushes are written, as many at once as `in_flight` lets through."""

    def __init__(
        self,
        timelines: TimelineStore,
        tasks: asyncio.TaskGroup,
        rows: int,
        in_flight: asyncio.Semaphore,
    ) -> None:
        self._timelines = timelines
        self._tasks = tasks
        self._rows = rows
        self._pending: list[tuple[TimelineEntry, Sequence[int]]] = []
        self._pending_rows = 0
        self._in_flight = in_flight

    async def add(self, deliveries: list[tuple[TimelineEntry, Sequence[int]]]) -> None:
        self._pending += deliveries
        self._pending_rows += sum(len(owners) for _, owners in deliveries)
        if self._pending_rows >= self._rows:
            await self._in_flight.acquire()
            self._start()

    def flush(self) -> None:
        """Push what is left (the task group waits for it)."""
        if self._pending:
            self._start(acquired=False)

    def _start(self, acquired: bool = True) -> None:
        deliveries, self._pending, self._pending_rows = self._pending, [], 0
        self._tasks.create_task(self._push(deliveries, acquired))

    async def _push(
        self, deliveries: list[tuple[TimelineEntry, Sequence[int]]], acquired: bool
    ) -> None:
        if not acquired:
            await self._in_flight.acquire()
        try:
            await self._timelines.push_many(TimelineKind.HOME, deliveries)
        finally:
            self._in_flight.release()


def mentioned_others(tweet: TweetRecord) -> list[int]:
    """Whose mentions timeline a tweet is in: the accounts it mentions but its author."""
    return [user_id for user_id in dict.fromkeys(tweet.mentions) if user_id != tweet.user_id]


def timeline_entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(created_at=tweet.created_at, tweet_id=tweet.id, author_id=tweet.user_id)
