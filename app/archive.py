"""ColdArchive: the cold tier of the data lifecycle (issue #18, item 4).

Tweets older than the cold threshold leave the primary tables for compressed JSON-lines
archives, one per author and month (`cold/tweets/{author_id}/{YYYY-MM}.jsonl.gz`, a line per
tweet in the shared cache's JSON shape, app/codec.py), written to the media store's cold
class (S3 Glacier Instant Retrieval: read at once; a plain `cold/` folder on the embedded
default). Pointer rows beside the tweets (`TweetStore.add_archived`) say which month holds
each tweet, and which months each author has.

Moving is ordered so that a crash never loses a tweet: the archive is written (and read back)
and the pointers are kept before the tweet's row and author timeline entry go; a rerun
merges the same tweets into the same files again and changes nothing. Reads stay
transparent: the tweet read-through's fetch (`fetch_many`) falls back to the archive for ids
the store misses, and a profile page reaching past the store goes on into it (`authored`).
`thaw` puts tweets back (deleting an archived tweet thaws it first); `remove_author` and
`thaw_author` serve the account purge.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import heapq
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app import codec
from storage.errors import Unavailable
from storage.records import ArchivedTweet, TimelineEntry, TimelineKind, TweetRecord

if TYPE_CHECKING:
    from storage.ports import Position
    from storage.registry import Stores

PREFIX = "cold/tweets/"
CONTENT_TYPE = "application/gzip"
# A month's archive is rewritten whole, so its writers (a pass moving tweets in, a deletion
# thawing one out, a purge) take turns: a lock in the cache, given up when done or after
# LOCK_TTL_S (a writer that died); a writer waits for it at most LOCK_WAIT_S.
LOCK_TTL_S = 30.0
LOCK_WAIT_S = 10.0
LOCK_POLL_S = 0.02

Month = tuple[int, str]  # (author id, YYYY-MM)


def archive_key(author_id: int, month: str) -> str:
    return f"{PREFIX}{author_id}/{month}.jsonl.gz"


def month_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def _entry(tweet: TweetRecord) -> TimelineEntry:
    return TimelineEntry(tweet.created_at, tweet.id, tweet.user_id)


def _pointer(tweet: TweetRecord) -> ArchivedTweet:
    return ArchivedTweet(tweet.id, tweet.user_id, month_of(tweet.created_at))


def _encode(tweets: Iterable[TweetRecord]) -> bytes:
    lines = (json.dumps(codec.encode(t), separators=(",", ":")) for t in tweets)
    return gzip.compress("\n".join(lines).encode(), mtime=0)


def _decode(data: bytes) -> dict[int, TweetRecord]:
    tweets = (codec.decode_tweet(json.loads(line)) for line in gzip.decompress(data).splitlines())
    return {tweet.id: tweet for tweet in tweets}


class ColdArchive:
    def __init__(self, stores: Stores) -> None:
        self._tweets = stores.tweets
        self._timelines = stores.timelines
        self._media = stores.media
        self._cache = stores.cache

    # Reads

    async def fetch_many(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        """The store's tweets, and the archive's for the ids the store misses (the tweet
        read-through's fetch: what it finds is cached like any tweet)."""
        found = await self._tweets.get_many(ids)
        missing = [tweet_id for tweet_id, tweet in zip(ids, found, strict=True) if tweet is None]
        if not missing:
            return found
        archived = dict(zip(missing, await self.get_many(missing), strict=True))
        return [
            tweet if tweet is not None else archived[tweet_id]
            for tweet_id, tweet in zip(ids, found, strict=True)
        ]

    async def get_many(self, ids: Sequence[int]) -> list[TweetRecord | None]:
        """Archived tweets in key order, None for the others: one read per (author, month)."""
        pointers = {p.tweet_id: p for p in await self._tweets.archived_many(ids) if p}
        months = {(p.author_id, p.month) for p in pointers.values()}
        held = {month: await self._read(*month) for month in months}
        return [
            held[(p.author_id, p.month)].get(tweet_id) if (p := pointers.get(tweet_id)) else None
            for tweet_id in ids
        ]

    async def month(self, author_id: int, month: str) -> list[TweetRecord]:
        """One month's archive of the author, newest first (a reindex reads them all)."""
        held = await self._read(author_id, month)
        return sorted(held.values(), key=lambda t: (t.created_at, t.id), reverse=True)

    async def authored(
        self, author_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """The author timeline going on into the archive where the store's ends (a profile
        page, a data export): a short page from the store is merged with the archive's
        entries older than the same cursor (a tweet in both, mid-move, once), so cursors
        stay one continuous order."""
        entries = await self._timelines.page(TimelineKind.AUTHOR, author_id, limit, after)
        if len(entries) >= limit:
            return entries
        older = await self.page(author_id, limit, after)
        merged: dict[int, TimelineEntry] = {}
        for entry in heapq.merge(entries, older, key=lambda e: e.position, reverse=True):
            merged.setdefault(entry.tweet_id, entry)
        return list(merged.values())[:limit]

    async def page(
        self, author_id: int, limit: int, after: Position | None = None
    ) -> list[TimelineEntry]:
        """The author's archived tweets as timeline entries, newest first, strictly older
        than `after`: months are read newest first, only as many as the page needs."""
        entries: list[TimelineEntry] = []
        if limit <= 0:
            return entries
        for month in await self._tweets.archived_months(author_id):
            if after is not None and month > month_of(after[0]):
                continue
            held = (await self._read(author_id, month)).values()
            older = [_entry(t) for t in held if after is None or (t.created_at, t.id) < after]
            entries += sorted(older, key=lambda e: e.position, reverse=True)
            if len(entries) >= limit:
                break
        return entries[:limit]

    # Writes

    async def move(self, tweets: Sequence[TweetRecord]) -> list[TweetRecord]:
        """Archive the tweets and remove them from the primary tables (the row and the
        author timeline entry); returns those moved. Each month's archive is written and
        read back first: a tweet a concurrent write lost stays where it is, for the next
        pass."""
        kept: list[TweetRecord] = []
        for (author_id, month), given in _by_month(tweets).items():
            async with self._holding(author_id, month):
                # As they are now, under the lock a deletion takes too (`holding`): one
                # deleted since it was read stays for the grace-period purge.
                rows = await self._tweets.get_many([tweet.id for tweet in given])
                group = [row for row in rows if row is not None and not row.is_deleted]
                if not group:
                    continue
                held = await self._read(author_id, month)
                held.update({tweet.id: tweet for tweet in group})
                await self._write(author_id, month, held)
                written = await self._read(author_id, month)
                moved = [tweet for tweet in group if tweet.id in written]
                if moved:
                    await self._tweets.add_archived([_pointer(tweet) for tweet in moved])
                    entries = [_entry(tweet) for tweet in moved]
                    await self._timelines.remove(TimelineKind.AUTHOR, [author_id], entries)
                    await self._tweets.drop_rows([tweet.id for tweet in moved])
            kept += moved
        return kept

    async def thaw(self, ids: Sequence[int]) -> list[TweetRecord]:
        """Put archived tweets back into the primary tables (row and author timeline
        entry), then take them out of their archives and pointers; returns those thawed.
        Ids that are not archived are ignored."""
        pointers = [p for p in await self._tweets.archived_many(ids) if p is not None]
        groups: dict[Month, list[ArchivedTweet]] = defaultdict(list)
        for pointer in pointers:
            groups[(pointer.author_id, pointer.month)].append(pointer)
        thawed: list[TweetRecord] = []
        for (author_id, month), group in groups.items():
            async with self._holding(author_id, month):
                held = await self._read(author_id, month)
                back = [held[p.tweet_id] for p in group if p.tweet_id in held]
                await self._tweets.put_back(back)
                for tweet in back:
                    await self._timelines.push(TimelineKind.AUTHOR, [author_id], _entry(tweet))
                    del held[tweet.id]
                await self._write(author_id, month, held)
                await self._tweets.remove_archived(group)
                if not held:
                    await self._tweets.remove_archived_months(author_id, [month])
            thawed += back
        return thawed

    async def thaw_author(self, author_id: int) -> int:
        """Thaw every archived tweet of the author (an account purge then finds them all in
        the primary tables); how many."""
        thawed = 0
        for month in await self._tweets.archived_months(author_id):
            ids = list(await self._read(author_id, month))
            thawed += len(await self.thaw(ids))
            await self._media.delete_many([archive_key(author_id, month)])
            await self._tweets.remove_archived_months(author_id, [month])
        return thawed

    async def remove_author(self, author_id: int) -> None:
        """Delete all of the author's archives and pointers (an account purge). Pointers go
        before their file, and the month last, so a rerun after a crash finishes the job."""
        months = await self._tweets.archived_months(author_id)
        for month in months:
            async with self._holding(author_id, month):
                held = await self._read(author_id, month)
                pointers = [ArchivedTweet(i, author_id, month) for i in held]
                await self._tweets.remove_archived(pointers)
                await self._media.delete_many([archive_key(author_id, month)])
        await self._tweets.remove_archived_months(author_id, months)
        while strays := await self._media.keys(f"{PREFIX}{author_id}/", 100):
            await self._media.delete_many(strays)

    def holding(self, tweet: TweetRecord) -> contextlib.AbstractAsyncContextManager[None]:
        """The lock of the month archive the tweet would go to: a deletion holds it while
        it marks the tweet, so a pass never archives the tweet as it was before."""
        return self._holding(tweet.user_id, month_of(tweet.created_at))

    @contextlib.asynccontextmanager
    async def _holding(self, author_id: int, month: str) -> AsyncIterator[None]:
        """This month's archive to ourselves (see LOCK_TTL_S): UNAVAILABLE if another writer
        keeps it past LOCK_WAIT_S, and the caller's work is left for a retry."""
        key = f"archive:lock:{author_id}:{month}"
        deadline = time.monotonic() + LOCK_WAIT_S
        while await self._cache.incr(key, LOCK_TTL_S) != 1:
            if time.monotonic() > deadline:
                raise Unavailable(f"the cold archive {archive_key(author_id, month)} is busy")
            await asyncio.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            await self._cache.delete_many([key])

    async def _read(self, author_id: int, month: str) -> dict[int, TweetRecord]:
        data = await self._media.get(archive_key(author_id, month))
        return {} if not data else _decode(data)

    async def _write(self, author_id: int, month: str, held: dict[int, TweetRecord]) -> None:
        key = archive_key(author_id, month)
        if not held:
            await self._media.delete_many([key])
            return
        newest_first = sorted(held.values(), key=lambda t: (t.created_at, t.id), reverse=True)
        await self._media.put(key, _encode(newest_first), CONTENT_TYPE, cold=True)


def _by_month(tweets: Iterable[TweetRecord]) -> dict[Month, list[TweetRecord]]:
    groups: dict[Month, list[TweetRecord]] = defaultdict(list)
    for tweet in tweets:
        groups[(tweet.user_id, month_of(tweet.created_at))].append(tweet)
    return groups
