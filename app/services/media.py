"""Media: a client asks for an upload, PUTs the bytes straight to the media store with the
URL it gets, then attaches the media id to a tweet. Nothing about a media object is kept
but the object: its key names its owner and type, and a HEAD proves it was uploaded."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.errors import BadInput, NotFoundError
from app.ids import SnowflakeGenerator
from storage.ports import MediaStore
from storage.records import utcnow

MiB = 1024 * 1024
# content type -> (file extension, largest size in bytes)
MEDIA_TYPES: dict[str, tuple[str, int]] = {
    "image/jpeg": ("jpg", 5 * MiB),
    "image/png": ("png", 5 * MiB),
    "image/webp": ("webp", 5 * MiB),
    "image/gif": ("gif", 15 * MiB),
    "video/mp4": ("mp4", 20 * MiB),
    "video/quicktime": ("mov", 20 * MiB),
}
EXTENSION_TYPES = {ext: content_type for content_type, (ext, _) in MEDIA_TYPES.items()}
UPLOAD_URL_TTL_S = 15 * 60
DOWNLOAD_URL_TTL_S = 6 * 3600
MAX_MEDIA_PER_TWEET = 4


@dataclass(frozen=True)
class Upload:
    media_id: str
    upload_url: str
    content_type: str
    size: int
    expires_at: datetime


def media_key(owner_id: int, media_id: int, content_type: str) -> str:
    return f"media/{owner_id}/{media_id}.{MEDIA_TYPES[content_type][0]}"


def media_id_of(key: str) -> str:
    return base64.urlsafe_b64encode(f"Media:{key}".encode()).decode()


def key_of(media_id: str) -> str:
    try:
        kind, _, key = base64.urlsafe_b64decode(media_id.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput(f"{media_id!r} is not a media id.", field="mediaIds") from None
    if kind != "Media" or not key.startswith("media/"):
        raise BadInput(f"{media_id!r} is not a media id.", field="mediaIds")
    return key


def content_type_of(key: str) -> str:
    return EXTENSION_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")


class CreateMediaUpload:
    def __init__(self, media: MediaStore, ids: SnowflakeGenerator) -> None:
        self._media = media
        self._ids = ids

    async def __call__(self, owner_id: int, content_type: str, size: int) -> Upload:
        if content_type not in MEDIA_TYPES:
            allowed = ", ".join(MEDIA_TYPES)
            raise BadInput(f"Media must be one of {allowed}.", field="contentType")
        limit = MEDIA_TYPES[content_type][1]
        if not 0 < size <= limit:
            raise BadInput(
                f"A {content_type} upload is 1 to {limit} bytes.", field="size", maxSize=limit
            )
        key = media_key(owner_id, self._ids.next_id(), content_type)
        url = await self._media.upload_url(key, content_type, size, UPLOAD_URL_TTL_S)
        expires_at = utcnow() + timedelta(seconds=UPLOAD_URL_TTL_S)
        return Upload(media_id_of(key), url, content_type, size, expires_at)


async def attachable_keys(media: MediaStore, owner_id: int, media_ids: Sequence[str]) -> list[str]:
    """The keys of media a tweet may carry: the author's own, really uploaded, of an
    allowed type and size, at most four, each once."""
    if len(media_ids) > MAX_MEDIA_PER_TWEET:
        raise BadInput(f"A tweet carries at most {MAX_MEDIA_PER_TWEET} media.", field="mediaIds")
    keys = list(dict.fromkeys(key_of(media_id) for media_id in media_ids))
    for key in keys:
        if not key.startswith(f"media/{owner_id}/"):
            raise NotFoundError("That media does not exist.", field="mediaIds")
    found = await asyncio.gather(*(media.head(key) for key in keys))
    for key, stored in zip(keys, found, strict=True):
        content_type = content_type_of(key)
        if stored is None:
            raise NotFoundError("That media has not been uploaded.", field="mediaIds")
        if stored.content_type != content_type or stored.size > MEDIA_TYPES[content_type][1]:
            raise BadInput("That media is not what its upload allowed.", field="mediaIds")
    return keys
