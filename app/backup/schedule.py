"""The worker's backups: a set every `CHIRP_BACKUP_EVERY_S`, then a prune (one process a
period, by a lease in the cache, as the lifecycle's passes)."""

from __future__ import annotations

import asyncio
import logging

from app.backup import BackupError, open_backups
from app.metrics import METRICS
from app.periods import leased_periods
from app.settings import Settings
from storage.ports import Cache

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
            backups = open_backups(self._settings)
        except BackupError as error:
            log.warning("scheduled backups are off: %s", error)
            return
        async for _ in leased_periods(stop, self._every_s, self._cache, "backup:take"):
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
