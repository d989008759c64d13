"""Search and trends over the search index port.

The index filters protected tweets down to those the viewer may see; hydration through the
visible-tweet loader checks again, so no read path depends on the index alone.

Indexing is asynchronous (a queued job, then the index's refresh interval), so a viewer
would not find a tweet they posted a moment ago. Their own tweets of the last OWN_RECENT_S
seconds are therefore matched here, against the same folded words, and merged in: a viewer
always reads their own writes; others find the tweet once it is indexed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.ids import id_timestamp_ms
from app.jobs.index import searchable
from app.search_query import ParsedSearch, matches
from storage.memory import TTLCache
from storage.ports import Position
from storage.records import (
    SearchQuery,
    TimelineEntry,
    TimelineKind,
    Trend,
    utc_from_ms,
    utcnow,
)
from storage.registry import Stores

MAX_PROTECTED_FOLLOWEES = 1_000
TRENDS_TTL_S = 60.0
OWN_RECENT_S = 15.0  # well past a normal indexing lag plus the index's refresh interval
OWN_RECENT_MAX = 20


class SearchTweets:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def query(self, viewer_id: int | None, parsed: ParsedSearch) -> SearchQuery | None:
        """The index query, or None when it cannot match anything (an unknown from:)."""
        authors = []
        for username in parsed.from_usernames:
            user = await self._stores.users.find_by_username(username)
            if user is None:
                return None
            authors.append(user.id)
        return SearchQuery(
            words=tuple(parsed.words),
            phrases=tuple(parsed.phrases),
            hashtags=tuple(parsed.hashtags),
            author_ids=tuple(authors),
            since=parsed.since,
            until=parsed.until,
            viewer_id=viewer_id,
            visible_protected_authors=await self._protected_followees(viewer_id),
        )

    async def _protected_followees(self, viewer_id: int | None) -> tuple[int, ...]:
        if viewer_id is None:
            return ()
        edges = await self._stores.graph.following_page(viewer_id, MAX_PROTECTED_FOLLOWEES)
        users = await self._stores.users.get_many([edge.other_id for edge in edges])
        return tuple(user.id for user in users if user is not None and user.protected)

    def pages(
        self, query: SearchQuery
    ) -> Callable[[int, Position | None], Awaitable[list[TimelineEntry]]]:
        """Search results as a source of timeline entries, for the connection pages."""

        async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
            return await self.page(query, limit, after)

        return fetch

    async def page(
        self, query: SearchQuery, limit: int, after: Position | None
    ) -> list[TimelineEntry]:
        before = after[1] if after is not None else None
        ids = await self._stores.search.search(query, limit, before)
        own = await self._own_recent(query, before)
        if own:
            ids = sorted(set(ids) | set(own), reverse=True)[:limit]
        return [
            TimelineEntry(created_at=utc_from_ms(id_timestamp_ms(i)), tweet_id=i, author_id=0)
            for i in ids
        ]

    async def _own_recent(self, query: SearchQuery, before: int | None) -> list[int]:
        """The viewer's tweets of the last few seconds that match (maybe not indexed yet)."""
        viewer = query.viewer_id
        if viewer is None or (query.author_ids and viewer not in query.author_ids):
            return []
        newest = await self._stores.timelines.page(TimelineKind.AUTHOR, viewer, OWN_RECENT_MAX)
        since = utcnow() - timedelta(seconds=OWN_RECENT_S)
        recent = [
            entry.tweet_id
            for entry in newest
            if entry.created_at >= since and (before is None or entry.tweet_id < before)
        ]
        if not recent:
            return []
        tweets = await self._stores.tweets.get_many(recent)
        return [
            tweet.id
            for tweet in tweets
            if tweet is not None and searchable(tweet) and matches(query, tweet)
        ]


class Trending:
    """Rising hashtags, computed by the index and cached for a minute."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores
        self._local: TTLCache[str, list[Trend]] = TTLCache(max_entries=8)

    async def __call__(self, limit: int, now: datetime | None = None) -> list[Trend]:
        key = f"trending:{limit}"
        cached = self._local.get(key)
        if cached is not None:
            return list(cached)
        cache = self._stores.cache
        if cache.shared:
            [blob] = await cache.get_many([key])
            if blob is not None:
                trends = [Trend(**item) for item in json.loads(blob)]
                self._local.set(key, trends, TRENDS_TTL_S)
                return trends
        trends = await self._stores.search.trending(limit, now or utcnow())
        self._local.set(key, trends, TRENDS_TTL_S)
        if cache.shared:
            encoded = json.dumps([_trend(t) for t in trends]).encode()
            await cache.set_many({key: encoded}, TRENDS_TTL_S)
        return trends


def _trend(trend: Trend) -> dict[str, object]:
    return {"hashtag": trend.hashtag, "count": trend.count, "previous_count": trend.previous_count}
