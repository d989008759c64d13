"""expire_exports: a READY data export's archive is kept `export_ttl_s` (its download URL
never outlives it); then the object is removed and the export saved EXPIRED, so a new
request is welcome. Removing a missing object is a no-op, so a pass killed midway is
finished by the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from app.lifecycle import LifecycleDeps, Tally
from storage.records import ExportStatus


class ExpireExports:
    name: ClassVar[str] = "expire_exports"

    def __init__(self, deps: LifecycleDeps) -> None:
        self._lifecycle = deps.stores.lifecycle
        self._media = deps.stores.media
        self._batch = deps.thresholds.batch

    async def __call__(self, now: datetime, tally: Tally) -> None:
        while expiring := await self._lifecycle.exports_expiring(now, self._batch):
            await self._media.delete_many([e.key for e in expiring if e.key is not None])
            for export in expiring:
                await self._lifecycle.save_export(
                    replace(export, status=ExportStatus.EXPIRED, key=None)
                )
            tally.add("purged", len(expiring))
            if len(expiring) < self._batch:
                return
