"""View counts: a tweet's `viewCount` counts each viewer once per window, written in batches.

A view is a tweet a logged-in viewer actually got: an entry of a timeline page (home,
profile tweets, replies, likes, search, hashtags; `schema/timeline.py` `Timeline.build`),
a tweet fetched by id (`tweet(id:)`, `node(id:)`), or a tweet of a conversation page. Each
page calls `seen(viewer_id, tweet_ids)` once. Anonymous readers are not counted: an
address is no person (many share one, one rotates many), and counting them per address
would let anyone inflate a count by changing it.

Nothing is written to a store on the request path. `seen` is one cache call
(`Cache.count_once`; on Redis one script call): a mark `viewed:{viewer}:{tweet}` that
lives `CHIRP_VIEW_WINDOW_S` (6 h) is set for each tweet not marked yet, and each new one
adds 1 to the tweet's field of the tally `views:pending:{store}`. A repeat within the window
counts nothing; after it, the view counts again. On Redis a mark is a small key (about 100
bytes) per (viewer, tweet) pair seen in the last window.

`run` (beside the job consumers of every worker: `chirp serve`'s in-process worker and
`chirp worker`; a server running no worker flushes its own in-process tally) takes the
whole tally every `CHIRP_VIEW_FLUSH_S` (2 s) in one atomic step (`Cache.take_tally`; so
flushers in several processes never take the same views twice) and writes it with
`EngagementStore.add_views_many`, up to FLUSH_BATCH tweets a call; it flushes once more
when it stops. So the store sees one batched write per flush interval, however many pages
were read. The tally is named after the tweets store, so processes sharing one Redis but
not one store never flush each other's views.

Failures lose at most views, never a read: a cache error in `seen` drops that page's views
(logged, counted as `lost`); a store error while flushing puts the views back in the tally
for the next flush (a Cassandra counter batch that timed out may have applied: it may then
count twice; views are approximate by nature). On the in-process cache, marks are bounded
(`memory://?max_marks=`, 100,000): past that the oldest are forgotten early and such a view
may count again within its window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterable

from app.metrics import METRICS
from storage.errors import StorageError
from storage.ports import Cache, EngagementStore

log = logging.getLogger("chirp.views")

FLUSH_BATCH = 1_000  # tweets per add_views_many call
WARN_EVERY_S = 30.0  # a cache outage is logged this often, not once per page


def tally_name(tweets_url: str) -> str:
    """The tally of views waiting for the store at `tweets_url` (hashed: a URL may hold a
    password, and keys should not)."""
    return "views:pending:" + hashlib.sha256(tweets_url.encode()).hexdigest()[:12]


class ViewCounter:
    def __init__(
        self,
        cache: Cache,
        engagement: EngagementStore,
        *,
        window_s: float,
        flush_every_s: float,
        tally: str,
    ) -> None:
        self._cache = cache
        self._engagement = engagement
        self._window_s = window_s
        self._flush_every_s = flush_every_s
        self._tally = tally
        self._warned_at = -WARN_EVERY_S

    @property
    def shared(self) -> bool:
        """Whether other processes see the tally (Redis): then any worker may flush it."""
        return self._cache.shared

    async def seen(self, viewer_id: int | None, tweet_ids: Iterable[int]) -> None:
        """The viewer got these tweets now (one page). Never raises, never writes a store."""
        unique = list(dict.fromkeys(tweet_ids))
        if not unique or self._window_s <= 0:
            return
        if viewer_id is None:
            METRICS.views["anonymous"] += len(unique)
            return
        METRICS.views["shown"] += len(unique)
        marks = {f"viewed:{viewer_id}:{tweet_id}": str(tweet_id) for tweet_id in unique}
        try:
            new = await self._cache.count_once(marks, self._window_s, self._tally)
        except StorageError as error:
            METRICS.views["lost"] += len(unique)
            self._warn("views not counted: the cache failed (%s)", error)
            return
        METRICS.views["counted"] += new

    async def flush(self) -> int:
        """Write the tally to the counters now; returns how many views were written."""
        try:
            taken = await self._cache.take_tally(self._tally)
        except StorageError as error:
            self._warn("views not flushed: the cache failed (%s); retrying", error)
            return 0
        pending = [(int(field), count) for field, count in taken.items() if count > 0]
        written = 0
        for start in range(0, len(pending), FLUSH_BATCH):
            batch = dict(pending[start : start + FLUSH_BATCH])
            try:
                await self._engagement.add_views_many(batch)
            except Exception as error:
                await self._put_back(dict(pending[start:]), error)
                break
            written += sum(batch.values())
            METRICS.views["flushed"] += sum(batch.values())
            METRICS.views["flushed_tweets"] += len(batch)
        return written

    async def _put_back(self, views: dict[int, int], error: Exception) -> None:
        """Views the store did not take go back in the tally for the next flush."""
        level = logging.WARNING if isinstance(error, StorageError) else logging.ERROR
        log.log(level, "%d tweets' views not written (%s); kept for later", len(views), error)
        try:
            await self._cache.add_to_tally(self._tally, {str(t): n for t, n in views.items()})
        except StorageError as again:
            METRICS.views["lost"] += sum(views.values())
            log.error("%d views lost: the cache failed too (%s)", sum(views.values()), again)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every `flush_every_s` until `stop` is set, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._flush_every_s)
            await self.flush()

    def _warn(self, message: str, error: StorageError) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning(message, error)
