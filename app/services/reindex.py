"""Reindex: rebuild search from the stores, a batch at a time: tweets from the tweet store,
people from the user store (idempotent: documents are keyed by tweet or user id, so running
it twice, or beside live indexing, is safe)."""

from __future__ import annotations

from collections.abc import Callable

from app.jobs.index import index_tweets
from app.jobs.index_users import index_users
from storage.registry import Stores

BATCH = 500


class Reindex:
    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def __call__(self, progress: Callable[[int], object] | None = None) -> tuple[int, int]:
        """Returns (tweets indexed, tweets removed)."""
        indexed = removed = 0
        after = None
        while batch := await self._stores.tweets.scan(after, BATCH):
            after = batch[-1].id
            live, gone = await index_tweets(self._stores, batch)
            indexed, removed = indexed + live, removed + gone
            if progress is not None:
                progress(len(batch))
        await self._stores.search.refresh()
        return indexed, removed


class ReindexUsers:
    """People search from the user store: every account, by id, with its followers count."""

    def __init__(self, stores: Stores) -> None:
        self._stores = stores

    async def __call__(self, progress: Callable[[int], object] | None = None) -> int:
        """Returns how many accounts were indexed."""
        indexed = 0
        after = None
        while batch := await self._stores.users.scan(after, BATCH):
            after = batch[-1].id
            indexed += await index_users(self._stores, batch)
            if progress is not None:
                progress(len(batch))
        await self._stores.search.refresh()
        return indexed
