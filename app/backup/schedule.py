"""The worker's backups: a set every `CHIRP_BACKUP_EVERY_S`, then a prune (one process a
period, by a lease in the cache, as the lifecycle's passes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from app.backup import BackupError, Backups
from app.metrics import METRICS
from app.settings import Settings
from storage.ports import Cache
from storage.records import utcnow

log = logging.getLogger("chirp.backup")


class BackupSchedule:
    def __init__(self, settings: Settings, cache: Cache) -> None:
        self._settings = settings
        self._cache = cache
        self._every_s = settings.backup.every_s

    async def run(self, stop: asyncio.Event) -> None:
        if self._every_s <= 0:
            return
        try:
            backups = Backups(self._settings)
        except BackupError as error:
            log.warning("scheduled backups are off: %s", error)
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every_s)
            if stop.is_set():
                return
            period = math.floor(utcnow().timestamp() / self._every_s)
            if await self._cache.incr(f"backup:take:{period}", self._every_s * 2) != 1:
                continue
            try:
                taken = await asyncio.to_thread(backups.create)
                removed = await asyncio.to_thread(backups.prune)
            except Exception:
                METRICS.backups["failed"] += 1
                log.exception("scheduled backup failed; the next period tries again")
                continue
            METRICS.backups["taken"] += 1
            METRICS.backups["pruned"] += len(removed)
            log.info("backup %s taken; %d set(s) pruned", taken.name, len(removed))

    async def flush(self) -> None:
        """Nothing: sets are taken on the schedule or with `chirp backup create`."""
