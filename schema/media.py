"""Media attached to tweets, and uploads."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type
class Media:
    id: strawberry.ID
    url: str = strawberry.field(description="Where a client fetches the bytes (expires).")
    content_type: str


@strawberry.type(
    description="PUT the bytes to uploadUrl with this Content-Type, then attach mediaId."
)
class MediaUpload:
    media_id: strawberry.ID
    upload_url: str
    content_type: str
    size: int
    expires_at: datetime
