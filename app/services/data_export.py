"""Data export: a user asks for a copy of their data (`requestDataExport`), a job builds it
off the request path (app/jobs/export.py, archive laid out by app/services/export_archive.py)
and `me.dataExport` shows its status and, once READY, a signed download URL.

One export at a time: while one is PENDING another request is refused with
EXPORT_IN_PROGRESS and nothing changes (unless the PENDING one is STALE_AFTER old: its job
was lost, so it is marked FAILED and the new request goes ahead). A READY archive is kept
`export_ttl_s`; then the lifecycle's expire_exports step removes it (EXPIRED) and a new
request is welcome.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from app.errors import UserError
from app.ids import SnowflakeGenerator
from app.jobs import Jobs
from app.jobs.export import Export
from storage.ports import LifecycleStore
from storage.records import DataExport, ExportStatus, utcnow

DOWNLOAD_URL_TTL_S = 6 * 3600  # a download URL works this long (never past the export's end)
# A PENDING export this old has lost its job (dead-lettered after the stores stayed down):
# it no longer holds the user's one slot, and a new request marks it FAILED.
STALE_AFTER = timedelta(hours=6)


class ExportInProgress(UserError):
    code = "EXPORT_IN_PROGRESS"


class RequestDataExport:
    def __init__(self, lifecycle: LifecycleStore, jobs: Jobs, ids: SnowflakeGenerator) -> None:
        self._lifecycle = lifecycle
        self._jobs = jobs
        self._ids = ids

    async def __call__(self, viewer_id: int) -> DataExport:
        export = DataExport(
            user_id=viewer_id,
            id=self._ids.next_id(),
            status=ExportStatus.PENDING,
            requested_at=utcnow(),
        )
        running = await self._lifecycle.begin_export(export)
        if running is not None and utcnow() - running.requested_at > STALE_AFTER:
            await self._lifecycle.save_export(
                replace(running, status=ExportStatus.FAILED, finished_at=utcnow())
            )
            running = await self._lifecycle.begin_export(export)
        if running is not None:
            raise ExportInProgress(
                "An export of your data is being prepared already; it will be ready soon."
            )
        try:
            await self._jobs.enqueue(Export, {"user_id": viewer_id, "export_id": export.id})
        except Exception:
            # No job will ever finish it: a PENDING export would refuse every new request.
            await self._lifecycle.save_export(
                replace(export, status=ExportStatus.FAILED, finished_at=utcnow())
            )
            raise
        return export


def download_expires_s(export: DataExport, now: datetime | None = None) -> int | None:
    """How long a download URL for the export may work: never past its expiry; None when
    there is nothing to download."""
    if export.status != ExportStatus.READY or export.key is None or export.expires_at is None:
        return None
    remaining = int((export.expires_at - (now or utcnow())).total_seconds())
    if remaining < 1:
        return None
    return min(remaining, DOWNLOAD_URL_TTL_S)
