"""Engagement reads through the policy: who liked or retweeted a tweet (accounts blocked
either way, and suspended ones, are not listed), and whether the viewer bookmarked each
tweet of a page (one batch).

An account page costs one read of the list, the viewer's relations (read once per request)
and one batch of users, whatever its size. Hidden accounts are left out of the page they
fall in rather than scanned past, as follow lists do; the page's end cursor is the last
entry read, so the next page starts after them, even when all of one page was hidden."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiodataloader import DataLoader

from app.policy import Policy
from loaders.pages import Fetch
from storage.ports import EngagementStore, Position
from storage.records import EngagementEdge, TimelineEntry, UserRecord

# A store's page of one key's list, newest first: (key, limit, after) -> its entries.
EdgeListing = Callable[[int, int, Position | None], Awaitable[list[EngagementEdge]]]
TweetListing = Callable[[int, int, Position | None], Awaitable[list[TimelineEntry]]]


@dataclass(frozen=True)
class AccountPage:
    edges: list[tuple[EngagementEdge, UserRecord]]
    has_next: bool
    end: Position | None


async def account_page(
    listing: EdgeListing,
    key: int,
    first: int,
    after: Position | None,
    users: DataLoader[int, UserRecord | None],
    policy: Callable[[], Awaitable[Policy]],
) -> AccountPage:
    """A page of the accounts in `key`'s list (a tweet's likers or retweeters)."""
    edges, viewer = await asyncio.gather(listing(key, first + 1, after), policy())
    read = edges[:first]
    found = await users.load_many([edge.user_id for edge in read])
    shown = [
        (edge, user)
        for edge, user in zip(read, found, strict=True)
        if user is not None and viewer.sees_account(user)
    ]
    return AccountPage(shown, len(edges) > first, read[-1].position if read else None)


def keyed(listing: TweetListing, key: int) -> Fetch:
    """One key's list of tweets (a tweet's quotes, a user's bookmarks), for Pages.listing."""

    async def fetch(limit: int, after: Position | None) -> list[TimelineEntry]:
        return await listing(key, limit, after)

    return fetch


class BookmarkedByViewerLoader(DataLoader[int, bool]):
    def __init__(self, engagement: EngagementStore, viewer_id: int) -> None:
        super().__init__()
        self._engagement = engagement
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._engagement.bookmarked_many(self._viewer_id, list(ids))
