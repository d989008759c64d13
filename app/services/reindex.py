"""Reindex: rebuild the search index from the tweet store, a batch at a time (idempotent:
documents are keyed by tweet id, so running it twice, or beside live indexing, is safe)."""

from __future__ import annotations

from collections.abc import Callable

from app.services.fan_out import search_document, searchable
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
            live = [tweet for tweet in batch if searchable(tweet)]
            gone = [tweet.id for tweet in batch if not searchable(tweet)]
            authors = await self._stores.users.get_many(list({t.user_id for t in live}))
            protected = {user.id for user in authors if user is not None and user.protected}
            await self._stores.search.index(
                [search_document(t, t.user_id in protected) for t in live]
            )
            await self._stores.search.remove(gone)
            indexed, removed = indexed + len(live), removed + len(gone)
            if progress is not None:
                progress(len(batch))
        return indexed, removed
