"""Media attached to tweets, and uploads."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.type(description="An image or a video attached to a tweet.")
class Media:
    id: strawberry.ID = strawberry.field(
        description="The media id, as createMediaUpload gave it (`mediaId`)."
    )
    url: str = strawberry.field(
        description="Where a client fetches the bytes: a signed URL that works for 6 hours; "
        "read the field again for a fresh one."
    )
    content_type: str = strawberry.field(
        description="image/jpeg, image/png, image/webp, image/gif, video/mp4 or video/quicktime."
    )


@strawberry.type(
    description="PUT the bytes to uploadUrl with this Content-Type, then attach mediaId."
)
class MediaUpload:
    media_id: strawberry.ID = strawberry.field(
        description="Pass it in postTweet's `mediaIds` once the bytes are uploaded."
    )
    upload_url: str = strawberry.field(description="Where to PUT the bytes, until `expiresAt`.")
    content_type: str = strawberry.field(description="The Content-Type the PUT must send.")
    size: int = strawberry.field(
        description="The size in bytes the upload was asked for: the PUT must send exactly "
        "that many."
    )
    expires_at: datetime = strawberry.field(
        description="When uploadUrl stops taking the bytes: 15 minutes after it was made."
    )
