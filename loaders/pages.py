"""Connection pages over the stores' clustering order, with every read-path rule of
app/policy.py applied: what the viewer may not see is skipped on every page; feeds (the
home timeline and search) also skip what the viewer mutes; a home timeline shows only the
viewer's own tweets and those of accounts the viewer follows right now (unfollow and block
are strongly consistent, even before the clean-up job has run); follow lists leave out
accounts blocked either way, and deleted (deactivated) ones."""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from app.policy import Policy, deactivated
from storage.ports import FollowGraph, Position, TimelineStore
from storage.records import FollowEdge, TimelineEntry, TimelineKind, TweetRecord, UserRecord

MAX_SCAN_ROUNDS = 4  # bounded work for a page full of hidden tweets
MAX_ROUND_ENTRIES = 400

Fetch = Callable[[int, Position | None], Awaitable[list[TimelineEntry]]]
# (owner id, limit, after) -> entries, e.g. ColdArchive.authored.
OwnedFetch = Callable[[int, int, Position | None], Awaitable[list[TimelineEntry]]]


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
        policy: Callable[[], Awaitable[Policy]],
        users: DataLoader[int, UserRecord | None] | None = None,
        authored: OwnedFetch | None = None,
    ) -> None:
        self._timelines = timelines
        self._authored_page = authored
        self._graph = graph
        self._likes_page = likes_page
        self._visible = visible_tweets
        self._followed = followed_by_viewer
        self._viewer_id = viewer_id
        self._celebrities = celebrities
        self._policy = policy
        self._users = users

    def _timeline(self, kind: TimelineKind, owner_id: int) -> Fetch:
        async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await self._timelines.page(kind, owner_id, limit, after)

        return fetch

    def _merged(self, timelines: list[tuple[TimelineKind, int]]) -> Fetch:
        """Several timelines read as one, in one store call: newest first, each tweet once."""

        async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
            pages = await self._timelines.pages(timelines, limit, after)
            newest_first = heapq.merge(*pages, key=lambda e: e.position, reverse=True)
            merged: dict[int, TimelineEntry] = {}
            for entry in newest_first:
                merged.setdefault(entry.tweet_id, entry)
                if len(merged) == limit:
                    break
            return list(merged.values())

        return fetch

    async def home(self, first: int, after: Position | None) -> TweetPage:
        """The fanned-out home timeline, merged with the author timelines of followed
        celebrities (hybrid fan-out), in one order and with one kind of cursor."""
        assert self._viewer_id is not None
        celebrities = await self.followed_celebrities()
        if not celebrities:
            return await self._scan(
                self._timeline(TimelineKind.HOME, self._viewer_id), first, after, home=True
            )
        timelines = [(TimelineKind.HOME, self._viewer_id)]
        timelines += [(TimelineKind.AUTHOR, celebrity) for celebrity in celebrities]
        return await self._scan(self._merged(timelines), first, after, home=True)

    async def followed_celebrities(self) -> list[int]:
        celebrities = [c for c in await self._celebrities() if c != self._viewer_id]
        if not celebrities or self._followed is None:
            return []
        followed = await self._followed.load_many(celebrities)
        return [c for c, yes in zip(celebrities, followed, strict=True) if yes]

    async def author(self, author_id: int, first: int, after: Position | None) -> TweetPage:
        return await self._scan(self._authored(author_id), first, after)

    def _authored(self, author_id: int) -> Fetch:
        """The author timeline; with `authored` given, it goes on into the cold archive."""
        authored = self._authored_page
        if authored is None:
            return self._timeline(TimelineKind.AUTHOR, author_id)

        async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await authored(author_id, limit, after)

        return fetch

    async def replies(self, tweet_id: int, first: int, after: Position | None) -> TweetPage:
        return await self._scan(self._timeline(TimelineKind.REPLIES, tweet_id), first, after)

    async def mentions(self, user_id: int, first: int, after: Position | None) -> TweetPage:
        """Tweets that mention the user, as a feed (muted accounts and words left out)."""
        fetch = self._timeline(TimelineKind.MENTIONS, user_id)
        return await self._scan(fetch, first, after, feed=True)

    async def likes(self, user_id: int, first: int, after: Position | None) -> TweetPage:
        async def fetch(limit: int, position: Position | None) -> list[TimelineEntry]:
            return await self._likes_page(user_id, limit, position)

        return await self._scan(fetch, first, after)

    async def listing(self, fetch: Fetch, first: int, after: Position | None) -> TweetPage:
        """Any other source of entries in timeline order that is not a feed (the quotes of a
        tweet, the viewer's bookmarks): what the viewer may not see is left out, what they
        mute is not."""
        return await self._scan(fetch, first, after)

    async def feed(self, fetch: Fetch, first: int, after: Position | None) -> TweetPage:
        """Any source of entries in timeline order that is a feed (search results, say):
        muted accounts and words are left out too."""
        return await self._scan(fetch, first, after, feed=True)

    async def followers(self, user_id: int, first: int, after: int | None) -> FollowPage:
        return await self._follows(self._graph.followers_page, user_id, first, after)

    async def follow_requests(self, user_id: int, first: int, after: int | None) -> FollowPage:
        return await self._follows(self._graph.requests_page, user_id, first, after)

    async def following(self, user_id: int, first: int, after: int | None) -> FollowPage:
        return await self._follows(self._graph.following_page, user_id, first, after)

    async def _follows(
        self,
        page: Callable[[int, int, int | None], Awaitable[list[FollowEdge]]],
        user_id: int,
        first: int,
        after: int | None,
    ) -> FollowPage:
        edges, policy = await asyncio.gather(page(user_id, first + 1, after), self._policy())
        shown = set(policy.listed(edge.other_id for edge in edges[:first]))
        if self._users is not None and shown:  # deleted accounts (deactivated) are not listed
            ids = sorted(shown)
            users = await self._users.load_many(ids)
            shown = {i for i, u in zip(ids, users, strict=True) if u and not deactivated(u)}
        return FollowPage([e for e in edges[:first] if e.other_id in shown], len(edges) > first)

    async def _scan(
        self,
        fetch: Fetch,
        first: int,
        after: Position | None,
        *,
        home: bool = False,
        feed: bool = False,
    ) -> TweetPage:
        items: list[tuple[Position, TweetRecord]] = []
        position = after
        seen = shown = 0
        for _ in range(MAX_SCAN_ROUNDS):
            want = _wanted(first - len(items), seen, shown)
            entries = await fetch(want, position)
            kept = await self._keep(entries, home, feed or home)
            seen += len(entries)
            for entry, tweet in zip(entries, kept, strict=True):
                if tweet is None:
                    continue
                shown += 1
                if len(items) == first:
                    return TweetPage(items, True, items[-1][0])
                items.append((entry.position, tweet))
            if len(entries) < want:
                return TweetPage(items, False, items[-1][0] if items else None)
            position = entries[-1].position
        # Many hidden entries in a row: stop here, and let the next page scan on.
        end = position if position is not None else (items[-1][0] if items else None)
        return TweetPage(items, True, end)

    async def _keep(
        self, entries: list[TimelineEntry], home: bool, feed: bool
    ) -> list[TweetRecord | None]:
        if not entries:
            return []
        tweets = await self._visible.load_many([entry.tweet_id for entry in entries])
        if feed:
            tweets = await self._unmuted(tweets)
        if not home or self._followed is None:
            return tweets
        others = list({e.author_id for e in entries if e.author_id != self._viewer_id})
        followed = dict(zip(others, await self._followed.load_many(others), strict=True))
        return [
            tweet if entry.author_id == self._viewer_id or followed[entry.author_id] else None
            for entry, tweet in zip(entries, tweets, strict=True)
        ]

    async def _unmuted(self, tweets: list[TweetRecord | None]) -> list[TweetRecord | None]:
        policy = await self._policy()
        return [
            tweet if tweet is None or not policy.mutes(tweet, await self.original(tweet)) else None
            for tweet in tweets
        ]

    async def original(self, tweet: TweetRecord) -> TweetRecord | None:
        """What a retweet retweets (already loaded: the visible loader checked it)."""
        if tweet.retweet_of_tweet_id is None:
            return None
        return await self._visible.load(tweet.retweet_of_tweet_id)

    async def muted(self, tweet: TweetRecord) -> bool:
        """Whether the viewer mutes this tweet (for the live timeline)."""
        return (await self._policy()).mutes(tweet, await self.original(tweet))


def _wanted(missing: int, seen: int, shown: int) -> int:
    """Entries to read for `missing` more tweets (plus one, to tell if there is a next
    page): as many as were needed so far for each one shown, so a timeline that is mostly
    hidden (muted, blocked, deleted) is read in one or two rounds, not one per few tweets."""
    if not seen:
        return missing + 1
    per_shown = seen / max(shown, 1)
    return min(MAX_ROUND_ENTRIES, math.ceil(missing * per_shown) + 1)
