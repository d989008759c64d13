"""Rebuilding the jobs a lost stream held (issue #19: no job is ever lost silently).

Redis runs with AOF, so a restart keeps the job streams. If Redis comes back empty anyway
(its files lost, or run without persistence), every job it held is gone: fan-outs (followers'
stored home timelines would miss those tweets for good), indexing (search would miss them
until a reindex) and retractions (deleted tweets would linger in timelines and search). The
queue notices (`JobQueue.lost`: the consumer group it had was gone), the worker logs it
loudly and counts it (`chirp_job_streams_lost_total`), and runs `Reconcile` for the stream.

`Reconcile` walks every author's own timeline back to `CHIRP_RECONCILE_WINDOW_S` ago (the
window a lost job can come from: older jobs would have failed `/readyz` long before) and
enqueues the jobs a tweet there needs again, from what is true in the store now:

- `delivery`: `fan_out` for a live tweet, `retract` for a deleted one (a deleted tweet is
  still in its author's timeline only if its retraction never ran);
- `indexing`: `index` (which indexes a live tweet and removes a deleted one).

Every handler is idempotent, so a tweet whose job did run before the loss is only written
again. The other streams' jobs are not rebuilt: `live` events are momentary (a client
reconnecting reads its timeline), `cleanup` (unfollow) only tidies home timelines that
reads already filter by the current follows, a lost `exports` job leaves the export
PENDING until it goes stale (app/services/data_export.py) and may be asked again, and a
notification a lost `notify` job would have made is missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from app.archive import ColdArchive
from app.jobs import Jobs
from app.jobs.fan_out import FanOut
from app.jobs.index import Index
from app.jobs.retract import Retract
from app.metrics import METRICS
from storage.records import TimelineKind, TweetRecord, utcnow
from storage.registry import Stores

log = logging.getLogger("chirp.reconcile")

BATCH = 200  # authors, and timeline entries of one author, read at a time
RECONCILED = ("delivery", "indexing")


class Reconcile:
    def __init__(self, stores: Stores, jobs: Jobs, window_s: float) -> None:
        self._stores = stores
        self._jobs = jobs
        self._window = timedelta(seconds=window_s)

    async def __call__(self, stream: str, since: datetime | None = None) -> int:
        """Enqueue again the jobs `stream` may have lost (those of tweets since `since`, by
        default the window); how many."""
        if stream not in RECONCILED:
            log.warning(
                "job stream %r lost: its jobs are not rebuilt (see app/reconcile.py)", stream
            )
            return 0
        cutoff = since or utcnow() - self._window
        enqueued = 0
        async for users in self._authors():
            counts = await asyncio.gather(*(self._author(u, cutoff, stream) for u in users))
            enqueued += sum(counts)
        METRICS.reconciled[stream] += enqueued
        log.warning("job stream %r rebuilt: %d job(s) enqueued again", stream, enqueued)
        return enqueued

    async def reattach(self, since: datetime) -> int:
        """Give every live tweet since `since` its author's side again (`record_authored`:
        the author's timeline, replies, mentions, quotes, and its jobs); how many tweets.

        After a restore of the real engines: Cassandra's tables are flushed one after
        another, so a set can hold a tweet whose author-timeline entry was written just
        after its table was flushed. The tweets table is the truth; the rest is rebuilt
        from it. (Retweets are left as they are: their entries come with their own rows.)"""
        from app.services.post_tweet import record_authored

        reattached = 0
        after: int | None = None
        while batch := await self._stores.tweets.scan(after, BATCH):
            after = batch[-1].id
            recent = [
                tweet
                for tweet in batch
                if tweet.created_at >= since
                and not tweet.is_deleted
                and tweet.retweet_of_tweet_id is None
            ]
            await asyncio.gather(*(record_authored(self._stores, self._jobs, t) for t in recent))
            reattached += len(recent)
        return reattached

    async def recount(self, since: datetime) -> int:
        """Set the tweets_count of every author who tweeted since `since` to what the stores
        hold (a restored backup, like a crash, can catch a tweet written and its count not
        yet moved); how many counts were wrong."""
        wrong = 0
        async for users in self._authors():
            for user_id in users:
                recent = await self._stores.timelines.page(TimelineKind.AUTHOR, user_id, 1)
                if not recent or recent[0].created_at < since:
                    continue
                actual = await self._tweets_of(user_id)
                [stats] = await self._stores.users.get_stats_many([user_id])
                counted = stats.tweets_count if stats is not None else 0
                if actual != counted:
                    await self._stores.users.add_to_stats(
                        user_id, {"tweets_count": actual - counted}
                    )
                    wrong += 1
        return wrong

    async def _authors(self) -> AsyncIterator[list[int]]:
        after: int | None = None
        while users := await self._stores.users.scan(after, BATCH):
            yield [user.id for user in users]
            if len(users) < BATCH:
                return
            after = users[-1].id

    async def _tweets_of(self, author_id: int) -> int:
        """Live tweets (retweets too) in the author's timeline and cold archive."""
        live = 0
        position = None
        timelines = self._stores.timelines
        while entries := await timelines.page(TimelineKind.AUTHOR, author_id, BATCH, position):
            tweets = await self._stores.tweets.get_many([entry.tweet_id for entry in entries])
            live += sum(1 for tweet in tweets if tweet is not None and not tweet.is_deleted)
            if len(entries) < BATCH:
                break
            position = entries[-1].position
        archive = ColdArchive(self._stores)
        for month in await self._stores.tweets.archived_months(author_id):
            live += sum(
                1 for tweet in await archive.month(author_id, month) if not tweet.is_deleted
            )
        return live

    async def _author(self, author_id: int, cutoff: datetime, stream: str) -> int:
        timelines, enqueued = self._stores.timelines, 0
        position = None
        while entries := await timelines.page(TimelineKind.AUTHOR, author_id, BATCH, position):
            recent = [entry for entry in entries if entry.created_at >= cutoff]
            tweets = await self._stores.tweets.get_many([entry.tweet_id for entry in recent])
            for tweet in tweets:
                if tweet is not None:
                    enqueued += await self._enqueue(stream, tweet)
            if len(recent) < len(entries) or len(entries) < BATCH:
                return enqueued
            position = entries[-1].position
        return enqueued

    async def _enqueue(self, stream: str, tweet: TweetRecord) -> int:
        payload = {"tweet_id": tweet.id}
        if stream == "indexing":
            await self._jobs.enqueue(Index, payload)
        else:
            await self._jobs.enqueue(Retract if tweet.is_deleted else FanOut, payload)
        return 1
