"""Reindex: rebuild search from the stores, a batch at a time: tweets from the tweet store
and the cold archive (app/archive.py: tweets moved out of the tweet store stay searchable),
people from the user store (idempotent: documents are keyed by tweet or user id, so running
it twice, or beside live indexing, is safe)."""

from __future__ import annotations

from collections.abc import Callable

from app.archive import ColdArchive
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
        live, gone = await self.archived(progress)
        await self._stores.search.refresh()
        return indexed + live, removed + gone

    async def archived(self, progress: Callable[[int], object] | None = None) -> tuple[int, int]:
        """The cold archive's tweets, author by author, a month at a time; (indexed,
        removed)."""
        stores = self._stores
        archive = ColdArchive(stores)
        indexed = removed = 0
        after = None
        while users := await stores.users.scan(after, BATCH):
            after = users[-1].id
            for user in users:
                for month in await stores.tweets.archived_months(user.id):
                    tweets = await archive.month(user.id, month)
                    live, gone = await index_tweets(stores, tweets)
                    indexed, removed = indexed + live, removed + gone
                    if progress is not None:
                        progress(len(tweets))
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
