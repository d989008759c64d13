"""The hot, warm and cold tiers of tweets (issue #18, item 4).

Hot (younger than `hot_s`): Redis caches and timelines plus the primary tables. Warm (up to
`cold_s`): out of Redis, still in the primary tables. Cold (older): in the compressed
per-author, per-month archives of app/archive.py, out of the primary tables. Reads reach
every tier transparently; only the cost differs.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import ClassVar

from app.archive import ColdArchive
from app.ids import MAX_ID
from app.lifecycle import LifecycleDeps, Tally
from storage.errors import Unavailable
from storage.records import TimelineKind


class EvictWarm:
    """Tweets past `hot_s` leave Redis: their `tweet:{id}` cache entries (found by scanning
    the shared cache, so a warm tweet read again since the last pass goes too) and their
    entries in the cached home timelines (`TimelineStore.evict_older`; the timeline adapter
    alone knows that layout). Each evicted cache entry and timeline entry tallies "moved".
    Stateless, so a pass that stops midway is finished by the next one.

    On the embedded default there is no Redis (no shared cache, nothing in front of the
    timeline tables): the step has nothing to evict and tallies nothing."""

    name: ClassVar[str] = "warm"

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps

    async def __call__(self, now: datetime, tally: Tally) -> None:
        if not self._deps.stores.cache.shared:
            return
        cutoff = now - timedelta(seconds=self._deps.thresholds.hot_s)
        await self._evict_tweets(cutoff, tally)
        dropped = await self._deps.stores.timelines.evict_older(TimelineKind.HOME, cutoff)
        tally.add("moved", dropped)

    async def _evict_tweets(self, cutoff: datetime, tally: Tally) -> None:
        cache = self._deps.tweet_cache
        evicted: set[int] = set()
        cursor: str | None = None
        while True:
            tweets, cursor = await cache.scan_shared(cursor, self._deps.thresholds.batch)
            old = {t.id for t in tweets if t.created_at < cutoff and t.id not in evicted}
            if old:
                await cache.invalidate(sorted(old))
                evicted |= old
                tally.add("moved", len(old))
            if cursor is None:
                return


class ArchiveCold:
    """Tweets past `cold_s` move to the cold archive, author by author (UserStore.scan
    pages, a batch of authors at once): each author's timeline is read from the cutoff
    back, and what it holds goes to the month archives (ColdArchive.move), a batch at a
    time. Deleted tweets are left to the grace-period purge; each tweet moved tallies
    "moved". A rerun finds only what is left: moved tweets are no longer in the timeline."""

    name: ClassVar[str] = "cold"

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps
        stores = deps.stores
        self._archive = ColdArchive(stores)

    async def __call__(self, now: datetime, tally: Tally) -> None:
        cutoff = now - timedelta(seconds=self._deps.thresholds.cold_s)
        batch = self._deps.thresholds.batch
        after: int | None = None
        while users := await self._deps.stores.users.scan(after, batch):
            await asyncio.gather(*(self._author(user.id, cutoff, tally) for user in users))
            if len(users) < batch:
                return
            after = users[-1].id

    async def _author(self, author_id: int, cutoff: datetime, tally: Tally) -> None:
        stores = self._deps.stores
        batch = self._deps.thresholds.batch
        position = (cutoff, MAX_ID)
        while entries := await stores.timelines.page(
            TimelineKind.AUTHOR, author_id, batch, position
        ):
            tweets = await stores.tweets.get_many([entry.tweet_id for entry in entries])
            live = [t for t in tweets if t is not None and not t.is_deleted]
            try:
                tally.add("moved", len(await self._archive.move(live)))
            except Unavailable:  # a month archive still being restored from Glacier
                tally.add("skipped", len(live))
                return  # this author waits for a later pass; the others go on
            if len(entries) < batch:
                return
            position = entries[-1].position
