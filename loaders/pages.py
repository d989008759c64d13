"""Connection pages over the stores' clustering order, with every read-path rule applied:
deleted and protected tweets are skipped, and a home timeline shows only the viewer's own
tweets and those of accounts the viewer follows right now (unfollow is strongly consistent,
even before the clean-up job has run)."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from storage.ports import FollowGraph, Position, TimelineStore
from storage.records import FollowEdge, TimelineEntry, TimelineKind, TweetRecord

MAX_SCAN_ROUNDS = 4  # bounded work for a page full of hidden tweets

Fetch = Callable[[int, Position | None], Awaitable[list[TimelineEntry]]]


@dataclass(frozen=True)
class TweetPage:
    items: list[tuple[Position, TweetRecord]]
    has_next: bool
    end: Position | None


@dataclass(frozen=True)
class FollowPage:
    edges: list[FollowEdge]
    has_next: bool


class Pages:
    def __init__(
        self,
        timelines: TimelineStore,
        graph: FollowGraph,
        likes_page: Callable[[int, int, Position | None], Awaitable[list[TimelineEntry]]],
        visible_tweets: DataLoader[int, TweetRecord | None],
        followed_by_viewer: DataLoader[int, bool] | None,
        viewer_id: int | None,
        celebrities: Callable[[], Awaitable[Sequence[int]]],
    ) -> None:
        self._timelines = timelines
        self._graph = graph
        self._likes_page = likes_page
        self._visible = visible_tweets
        self._followed = followed_by_viewer
        self._viewer_id = viewer_id
        self._celebrities = celebrities

    def _timeline(self, kind: TimelineKind, owner_id: int) -> Fetch:
        async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await self._timelines.page(kind, owner_id, limit, after)

        return fetch

    async def home(self, first: int, after: Position | None) -> TweetPage:
        """The fanned-out home timeline, merged with the author timelines of followed
        celebrities (hybrid fan-out), in one order and with one kind of cursor."""
        assert self._viewer_id is not None
        sources = [self._timeline(TimelineKind.HOME, self._viewer_id)]
        for celebrity in await self.followed_celebrities():
            sources.append(self._timeline(TimelineKind.AUTHOR, celebrity))
        fetch = sources[0] if len(sources) == 1 else _merged(sources)
        return await self._scan(fetch, first, after, True)

    async def followed_celebrities(self) -> list[int]:
        celebrities = [c for c in await self._celebrities() if c != self._viewer_id]
        if not celebrities or self._followed is None:
            return []
        followed = await self._followed.load_many(celebrities)
        return [c for c, yes in zip(celebrities, followed, strict=True) if yes]

    async def author(self, author_id: int, first: int, after: Position | None) -> TweetPage:
        return await self._scan(self._timeline(TimelineKind.AUTHOR, author_id), first, after)

    async def replies(self, tweet_id: int, first: int, after: Position | None) -> TweetPage:
        return await self._scan(self._timeline(TimelineKind.REPLIES, tweet_id), first, after)

    async def likes(self, user_id: int, first: int, after: Position | None) -> TweetPage:
        async def fetch(limit: int, position: Position | None) -> list[TimelineEntry]:
            return await self._likes_page(user_id, limit, position)

        return await self._scan(fetch, first, after)

    async def scan(self, fetch: Fetch, first: int, after: Position | None) -> TweetPage:
        """Any source of entries in timeline order (search results, say)."""
        return await self._scan(fetch, first, after)

    async def followers(self, user_id: int, first: int, after: int | None) -> FollowPage:
        edges = await self._graph.followers_page(user_id, first + 1, after)
        return FollowPage(edges[:first], len(edges) > first)

    async def follow_requests(self, user_id: int, first: int, after: int | None) -> FollowPage:
        edges = await self._graph.requests_page(user_id, first + 1, after)
        return FollowPage(edges[:first], len(edges) > first)

    async def following(self, user_id: int, first: int, after: int | None) -> FollowPage:
        edges = await self._graph.following_page(user_id, first + 1, after)
        return FollowPage(edges[:first], len(edges) > first)

    async def _scan(
        self, fetch: Fetch, first: int, after: Position | None, home: bool = False
    ) -> TweetPage:
        items: list[tuple[Position, TweetRecord]] = []
        position = after
        for _ in range(MAX_SCAN_ROUNDS):
            want = first - len(items) + 1
            entries = await fetch(want, position)
            kept = await self._keep(entries, home)
            for entry, tweet in zip(entries, kept, strict=True):
                if tweet is None:
                    continue
                if len(items) == first:
                    return TweetPage(items, True, items[-1][0])
                items.append((entry.position, tweet))
            if len(entries) < want:
                return TweetPage(items, False, items[-1][0] if items else None)
            position = entries[-1].position
        # Many hidden entries in a row: stop here, and let the next page scan on.
        end = position if position is not None else (items[-1][0] if items else None)
        return TweetPage(items, True, end)

    async def _keep(self, entries: list[TimelineEntry], home: bool) -> list[TweetRecord | None]:
        if not entries:
            return []
        tweets = await self._visible.load_many([entry.tweet_id for entry in entries])
        if not home or self._followed is None:
            return tweets
        others = list({e.author_id for e in entries if e.author_id != self._viewer_id})
        followed = dict(zip(others, await self._followed.load_many(others), strict=True))
        return [
            tweet if entry.author_id == self._viewer_id or followed[entry.author_id] else None
            for entry, tweet in zip(entries, tweets, strict=True)
        ]


def _merged(sources: list[Fetch]) -> Fetch:
    """Several timelines read as one: newest first, each tweet once."""

    async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
        pages = await asyncio.gather(*(source(limit, after) for source in sources))
        newest_first = heapq.merge(*pages, key=lambda e: e.position, reverse=True)
        merged: dict[int, TimelineEntry] = {}
        for entry in newest_first:
            merged.setdefault(entry.tweet_id, entry)
            if len(merged) == limit:
                break
        return list(merged.values())

    return fetch
