"""export {"user_id", "export_id"}: build a user's data export (app/services/data_export.py).

The archive goes to `exports/{user_id}/{export_id}.zip` in the media store, then the export
is saved READY until now + export_ttl_s; an archive of an earlier export (replaced by
this one before it expired) is removed. A rerun (a reclaimed job) writes the same key, and
an export that is no longer the user's pending one is left alone. A store that is
unavailable leaves the export PENDING and the job for later; any other failure is tried
again here, and after the last attempt the export is FAILED, so the user can ask again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import ClassVar

from app.jobs.base import EXPORTS, JobDeps, Payload
from app.services.export_archive import BuildExportArchive
from storage.errors import Unavailable
from storage.records import DataExport, ExportStatus, utcnow

log = logging.getLogger("chirp.jobs.export")

ATTEMPTS = 3
RETRY_PAUSE_S = 0.5  # doubled after each failed attempt


def export_key(user_id: int, export_id: int) -> str:
    return f"exports/{user_id}/{export_id}.zip"


class Export:
    kind: ClassVar[str] = "export"
    stream: ClassVar[str] = EXPORTS
    max_batch: ClassVar[int] = 1
    # Each build holds its zip in memory: two at a time per worker, whatever
    # CHIRP_WORKER_CONCURRENCY says for the other streams.
    max_concurrency: ClassVar[int] = 2

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores
        self._users = deps.user_cache
        self._ttl = timedelta(seconds=deps.lifecycle.export_ttl_s)
        self._build = BuildExportArchive(
            deps.stores, deps.tweet_cache, deps.user_cache, deps.archived
        )

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        for payload in payloads:
            export = await self._stores.lifecycle.export_of(int(payload["user_id"]))
            if export is None or export.id != int(payload["export_id"]):
                continue  # superseded (or purged with its account): nothing to build
            if export.status == ExportStatus.PENDING:
                await self._attempt(export)

    async def _attempt(self, export: DataExport) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._export(export)
                return
            except Unavailable:
                raise  # not this export's fault: the worker gives the job back for later
            except Exception:
                log.exception("export %s: attempt %d of %d failed", export.id, attempt, ATTEMPTS)
                if attempt < ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE_S * 2 ** (attempt - 1))
        await self._stores.lifecycle.save_export(
            replace(export, status=ExportStatus.FAILED, finished_at=utcnow())
        )
        # The export it replaced is gone from the user's view: its archive goes too, rather
        # than outlive the export's retention.
        await self._remove_older_archives(export.user_id, None)

    async def _export(self, export: DataExport) -> None:
        [user] = await self._users.get_many([export.user_id])
        if user is None:
            raise LookupError(f"user {export.user_id} is gone")
        archive = await self._build(user)
        key = export_key(export.user_id, export.id)
        await self._stores.media.put(key, archive.data, "application/zip")
        await self._remove_older_archives(export.user_id, key)
        now = utcnow()
        await self._stores.lifecycle.save_export(
            replace(
                export,
                status=ExportStatus.READY,
                key=key,
                finished_at=now,
                expires_at=now + self._ttl,
            )
        )

    async def _remove_older_archives(self, user_id: int, key: str | None) -> None:
        """A new export replaces a READY one before it expired: its archive goes now."""
        found = await self._stores.media.keys(f"exports/{user_id}/", limit=100)
        await self._stores.media.delete_many([other for other in found if other != key])
