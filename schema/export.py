"""A user's data export (requestDataExport, me.dataExport)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.context import Context
from app.services.data_export import download_expires_s
from schema.enum_values import described
from storage.records import DataExport as DataExportRecord
from storage.records import ExportStatus

Info = strawberry.Info[Context, None]


@strawberry.enum(description="Where a data export stands.")
class DataExportStatus(Enum):
    PENDING = described(
        "pending", description="Being built in the background; another request is refused."
    )
    READY = described("ready", description="Built: `url` downloads the archive until `expiresAt`.")
    FAILED = described("failed", description="It could not be built; request a new one.")
    EXPIRED = described(
        "expired",
        description="The archive was removed (7 days after it was ready, by default); "
        "request a new one.",
    )


@strawberry.type(
    description="A copy of the viewer's data: one zip archive (profile, settings, tweets, "
    "likes, follows, bookmarks and media), built in the background."
)
class DataExport:
    status: DataExportStatus = strawberry.field(description="Where it stands.")
    requested_at: datetime = strawberry.field(description="When it was requested.")
    finished_at: datetime | None = strawberry.field(
        description="When it became READY or FAILED; null while PENDING."
    )
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

    @strawberry.field(
        description="A signed download URL, only when READY; null otherwise. It works for up "
        "to 6 hours, never past `expiresAt`: read the field again for a fresh one."
    )
    async def url(self, info: Info) -> str | None:
        expires_s = download_expires_s(self.record)
        if expires_s is None or self.record.key is None:
            return None
        return await info.context.chirp.stores.media.download_url(self.record.key, expires_s)
