"""Read-through caching: the in-process L1, then the shared cache (when there is one), then
the store, writing back what each level missed. Writers evict through `invalidate`.

Concurrent misses of the same id share one load: when a thousand live subscribers ask for
the tweet just announced to them, the shared cache and the store are asked once, not a
thousand times."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from storage.errors import StorageError
from storage.memory import TTLCache
from storage.ports import Cache

T = TypeVar("T")
log = logging.getLogger("chirp.cache")


class ReadThrough(Generic[T]):
    def __init__(
        self,
        *,
        prefix: str,
        fetch_many: Callable[[Sequence[int]], Awaitable[list[T | None]]],
        encode: Callable[[T], dict[str, object]],
        decode: Callable[[dict[str, object]], T],
        l1: TTLCache,
        l1_ttl_s: float,
        cache: Cache,
        cache_ttl_s: float,
        announce: Callable[[str, Sequence[int]], Awaitable[None]] | None = None,
    ) -> None:
        self._prefix = prefix
        self._fetch_many = fetch_many
        self._encode = encode
        self._decode = decode
        self._l1 = l1
        self._l1_ttl_s = l1_ttl_s
        self._cache = cache if cache.shared else None
        self._cache_ttl_s = cache_ttl_s
        # Given when other processes keep L1 copies too (a shared cache): tells them to forget.
        self._announce = announce
        self._loading: dict[int, asyncio.Future[T | None]] = {}

    def key(self, entity_id: int) -> str:
        return f"{self._prefix}:{entity_id}"

    async def get_many(self, ids: Sequence[int]) -> list[T | None]:
        found: dict[int, T] = {}
        missing: list[int] = []
        joined: dict[int, asyncio.Future[T | None]] = {}
        for entity_id in dict.fromkeys(ids):
            hit = self._l1.get(self.key(entity_id))
            if hit is not None:
                found[entity_id] = hit
            elif (loading := self._loading.get(entity_id)) is not None:
                joined[entity_id] = loading
            else:
                missing.append(entity_id)
        if missing:
            await self._load(missing, found)
        for entity_id, loading in joined.items():
            try:
                value = await asyncio.shield(loading)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not loading.cancelled() or (task is not None and task.cancelling()):
                    raise  # this caller is cancelled, not the load it joined
                [value] = await self.get_many([entity_id])
            if value is not None:
                found[entity_id] = value
        return [found.get(entity_id) for entity_id in ids]

    async def _load(self, ids: list[int], found: dict[int, T]) -> None:
        """Loads ids from the shared cache, then the store; other callers that miss the same
        ids meanwhile wait for this load instead of starting their own."""
        loop = asyncio.get_running_loop()
        mine = {entity_id: loop.create_future() for entity_id in ids}
        self._loading.update(mine)
        try:
            missing = ids
            if self._cache is not None:
                missing = await self._from_cache(missing, found)
            if missing:
                await self._from_store(missing, found)
        except Exception as error:
            for future in mine.values():
                future.set_exception(error)
                future.exception()  # retrieved: no one may be waiting for it
            raise
        except BaseException:  # cancelled: those waiting load for themselves
            for future in mine.values():
                future.cancel()
            raise
        finally:
            for entity_id, future in mine.items():
                if self._loading.get(entity_id) is future:
                    del self._loading[entity_id]
                if not future.done():
                    future.set_result(found.get(entity_id))

    async def _from_cache(self, ids: list[int], found: dict[int, T]) -> list[int]:
        assert self._cache is not None
        try:
            blobs = await self._cache.get_many([self.key(entity_id) for entity_id in ids])
        except StorageError:  # degraded mode: the shared cache is down, read the store
            log.warning("shared cache unavailable; reading %s from the store", self._prefix)
            return ids
        still_missing = []
        for entity_id, blob in zip(ids, blobs, strict=True):
            if blob is None:
                still_missing.append(entity_id)
                continue
            value = self._decode(json.loads(blob))
            found[entity_id] = value
            self._l1.set(self.key(entity_id), value, self._l1_ttl_s)
        return still_missing

    async def _from_store(self, ids: list[int], found: dict[int, T]) -> None:
        values = await self._fetch_many(ids)
        write_back: dict[str, bytes] = {}
        for entity_id, value in zip(ids, values, strict=True):
            if value is None:
                continue
            found[entity_id] = value
            self._l1.set(self.key(entity_id), value, self._l1_ttl_s)
            write_back[self.key(entity_id)] = json.dumps(self._encode(value)).encode()
        if write_back and self._cache is not None:
            with contextlib.suppress(StorageError):  # a cache that is down only costs speed
                await self._cache.set_many(write_back, self._cache_ttl_s)

    async def invalidate(self, ids: Sequence[int]) -> None:
        keys = [self.key(entity_id) for entity_id in ids]
        for entity_id, key in zip(ids, keys, strict=True):
            self._l1.delete(key)
            self._loading.pop(entity_id, None)  # a load begun before this write: not joined
        if self._cache is not None:
            try:
                await self._cache.delete_many(keys)
            except StorageError:
                # Copies left in the shared cache would outlive this write: a TTL bounds them.
                log.error("could not evict %s from the shared cache", keys[:5])
        if self._announce is not None:
            await self._announce(self._prefix, ids)

    async def scan_shared(self, cursor: str | None, count: int) -> tuple[list[T], str | None]:
        """Some of the values the shared cache holds (nothing without one), and the cursor
        to go on from (None: done). For the lifecycle's warm tier."""
        if self._cache is None:
            return [], None
        keys, cursor = await self._cache.scan(f"{self._prefix}:", cursor, count)
        blobs = await self._cache.get_many(keys) if keys else []
        return [self._decode(json.loads(blob)) for blob in blobs if blob is not None], cursor

    def clear_local(self) -> None:
        self._l1.clear()

    def forget_local(self, ids: Sequence[int]) -> None:
        """Drop L1 copies only (another process already evicted the shared cache)."""
        for entity_id in ids:
            self._l1.delete(self.key(entity_id))
            self._loading.pop(entity_id, None)
