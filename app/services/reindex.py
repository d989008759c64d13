"""Reindex: rebuild the search index from the tweet store, a batch at a time (idempotent:
documents are keyed by tweet id, so running it twice, or beside live indexing, is safe)."""

from __future__ import annotations

from collections.abc import Callable

from app.jobs.index import index_tweets
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
