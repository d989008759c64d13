"""announce {"tweet_id"}: tell live subscribers of the author's followers about a new tweet.

Live delivery has a job and a stream of its own, so it never waits for the durable
timeline writes of fan-out (which take seconds for an author with many followers): a
subscriber hears of the tweet while its timeline row may still be on its way (the design
allows 5 s for that), and loads the tweet itself, not the timeline row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import AUTHORS_IN_FLIGHT, LIVE, JobDeps, Payload, follower_batches, tweets_of
from app.live import LiveEvent, LiveEventType


class Announce:
    kind: ClassVar[str] = "announce"
    stream: ClassVar[str] = LIVE
    max_batch: ClassVar[int] = 64

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._celebrities = deps.celebrities
        self._live = deps.live
        self._batch = deps.fan_out_batch
        self._reading = asyncio.Semaphore(AUTHORS_IN_FLIGHT)  # across every call in flight

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        """Many jobs at once: each author's followers are read once for all its tweets."""
        by_author: dict[int, list[LiveEvent]] = {}
        for tweet in await tweets_of(self._stores, payloads):
            if not tweet.is_deleted:
                by_author.setdefault(tweet.user_id, []).append(
                    LiveEvent(LiveEventType.ADDED, tweet.id)
                )
        celebrities = set(await self._celebrities.ids())
        await asyncio.gather(
            *(
                self._announce(author, events, author in celebrities)
                for author, events in by_author.items()
            )
        )

    async def _announce(self, author_id: int, events: list[LiveEvent], celebrity: bool) -> None:
        async with self._reading:
            await self._announce_now(author_id, events, celebrity)

    async def _announce_now(self, author_id: int, events: list[LiveEvent], celebrity: bool) -> None:
        for event in events:
            await self._live.to_home_timelines([author_id], event)
            if celebrity:
                await self._live.to_author_followers(author_id, event)
        if celebrity:
            return
        async for followers in follower_batches(self._stores.graph, author_id, self._batch):
            for event in events:
                await self._live.to_home_timelines(followers, event)
