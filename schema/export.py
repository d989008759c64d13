"""A user's data export (requestDataExport, me.dataExport)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.context import Context
from app.services.data_export import download_expires_s
from storage.records import DataExport as DataExportRecord
from storage.records import ExportStatus

Info = strawberry.Info[Context, None]


@strawberry.enum
class DataExportStatus(Enum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


@strawberry.type(
    description="A copy of the viewer's data: one zip archive (profile, settings, tweets, "
    "likes, follows, bookmarks and media), built in the background."
)
class DataExport:
    status: DataExportStatus
    requested_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = strawberry.field(
        description="When a READY archive is removed; its URLs stop working by then."
    )
    record: strawberry.Private[DataExportRecord]

    @classmethod
    def from_record(cls, record: DataExportRecord) -> DataExport:
        return cls(
            status=DataExportStatus(ExportStatus(record.status).value),
            requested_at=record.requested_at,
            finished_at=record.finished_at,
            expires_at=record.expires_at,
            record=record,
        )

    @strawberry.field(description="A signed download URL, only when READY (it expires).")
    async def url(self, info: Info) -> str | None:
        expires_s = download_expires_s(self.record)
        if expires_s is None or self.record.key is None:
            return None
        return await info.context.chirp.stores.media.download_url(self.record.key, expires_s)
