"""S3MediaStore: media on any S3 endpoint through aioboto3.

`s3://bucket?endpoint_url=http://127.0.0.1:9000&region=us-east-1` (endpoint_url is left out
for AWS itself). Credentials come from the usual AWS environment or config. Clients upload
and download with presigned URLs straight to S3; the upload URL signs the content type and
length, so S3 refuses other bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from storage.errors import StorageError, Unavailable
from storage.local_media import validate_content_type, validate_key
from storage.records import StoredObject
from storage.registry import Resources

if TYPE_CHECKING:
    from storage.ports import MediaStore

_MISSING = {"404", "NoSuchKey", "NotFound"}
# Archives (the lifecycle's cold tier) go to a cold class, GLACIER unless the URL says
# `?cold_class=`: DEEP_ARCHIVE, or GLACIER_IR (read at once, dearer to keep). A GLACIER or
# DEEP_ARCHIVE object refuses a GET until it is restored: `get` asks for the restore
# (Expedited, for RESTORE_DAYS) and waits up to RESTORE_WAIT_S for it; a restore that takes
# longer (minutes on AWS) answers UNAVAILABLE, and the read succeeds once it is done.
COLD_CLASS = "GLACIER"
RESTORE_DAYS = 1
RESTORE_WAIT_S = 10.0
RESTORE_POLL_S = 0.5
DELETE_BATCH = 1000  # S3's DeleteObjects limit
_TIMEOUTS = Config(
    signature_version="s3v4",
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 3, "mode": "standard"},
    s3={"addressing_style": "path"},
)


class _Archived(Exception):
    """The object is in GLACIER or DEEP_ARCHIVE and not restored."""


class S3MediaStore:
    def __init__(self, client: Any, bucket: str, cold_class: str = COLD_CLASS) -> None:
        self._client = client
        self._bucket = bucket
        self._cold_class = cold_class

    async def put(self, key: str, data: bytes, content_type: str, cold: bool = False) -> None:
        validate_key(key)
        validate_content_type(content_type)
        extra = {"StorageClass": self._cold_class} if cold else {}
        async with _errors():
            await self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, **extra
            )

    async def delete_many(self, keys: Sequence[str]) -> None:
        objects = [{"Key": validate_key(key)} for key in keys]  # all checked before any goes
        for start in range(0, len(objects), DELETE_BATCH):
            async with _errors():
                response = await self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": objects[start : start + DELETE_BATCH], "Quiet": True},
                )
            # DeleteObjects answers 200 and lists the keys it could not delete (quiet mode
            # lists only those): a refusal must not pass for a deletion.
            refused = [e for e in response.get("Errors", []) if e.get("Code") not in _MISSING]
            if refused:
                first = refused[0]
                raise StorageError(
                    f"S3 refused to delete {len(refused)} object(s): {first.get('Code')} "
                    f"({first.get('Key')})"
                )

    async def keys(self, prefix: str, limit: int, after: str | None = None) -> list[str]:
        found: list[str] = []
        start_after = after or ""
        while len(found) < limit:
            async with _errors():
                response = await self._client.list_objects_v2(
                    Bucket=self._bucket,
                    Prefix=prefix,
                    StartAfter=start_after,
                    MaxKeys=min(1000, limit - len(found)),
                )
            contents = response.get("Contents", [])
            found += [str(item["Key"]) for item in contents]
            if not contents or not response.get("IsTruncated"):
                break
            start_after = found[-1]
        return found[:limit]

    async def get(self, key: str) -> bytes | None:
        validate_key(key)
        try:
            return await self._read(key)
        except _Missing:
            return None
        except _Archived:
            await self._restore(key)
        try:
            return await self._read(key)
        except _Missing:
            return None
        except _Archived:
            raise Unavailable(f"{key} is being restored from its cold class; try again") from None

    async def _read(self, key: str) -> bytes:
        async with _errors():
            response = await self._client.get_object(Bucket=self._bucket, Key=key)
            async with response["Body"] as body:
                return bytes(await body.read())

    async def _restore(self, key: str) -> None:
        """Ask for a temporary copy of an archived object, and wait a little for it."""
        request = {"Days": RESTORE_DAYS, "GlacierJobParameters": {"Tier": "Expedited"}}
        try:
            async with _errors():
                await self._client.restore_object(
                    Bucket=self._bucket, Key=key, RestoreRequest=request
                )
        except StorageError as error:
            if "RestoreAlreadyInProgress" not in str(error):
                raise
        waited = 0.0
        while waited < RESTORE_WAIT_S:
            async with _errors():
                head = await self._client.head_object(Bucket=self._bucket, Key=key)
            if 'ongoing-request="false"' in str(head.get("Restore", "")):
                return
            await asyncio.sleep(RESTORE_POLL_S)
            waited += RESTORE_POLL_S

    async def head(self, key: str) -> StoredObject | None:
        validate_key(key)
        try:
            async with _errors():
                response = await self._client.head_object(Bucket=self._bucket, Key=key)
        except _Missing:
            return None
        return StoredObject(key, int(response["ContentLength"]), str(response["ContentType"]))

    async def upload_url(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        validate_key(key)
        validate_content_type(content_type)
        params = {
            "Bucket": self._bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        }
        url: str = await self._client.generate_presigned_url(
            "put_object", Params=params, ExpiresIn=expires_s
        )
        return url

    async def download_url(self, key: str, expires_s: int) -> str:
        validate_key(key)
        url: str = await self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_s
        )
        return url


class _Missing(Exception):
    pass


@asynccontextmanager
async def _errors() -> AsyncIterator[None]:
    """Driver errors become storage errors; a missing object becomes _Missing."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            raise _Missing from None
        if code == "InvalidObjectState":
            raise _Archived from None
        raise StorageError(f"S3 refused the request: {code}") from error
    except EndpointConnectionError as error:
        raise Unavailable("S3 is unreachable") from error
    except BotoCoreError as error:
        raise Unavailable(f"S3 failed: {type(error).__name__}") from error


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"media URL {url!r} names no bucket: s3://bucket?endpoint_url=...")
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return parts.netloc, options


async def open_media_store(url: str, resources: Resources) -> S3MediaStore:
    bucket, options = parse_url(url)
    stack = AsyncExitStack()
    session = aioboto3.Session()
    client = await stack.enter_async_context(
        session.client(
            "s3",
            endpoint_url=options.get("endpoint_url"),
            region_name=options.get("region", "us-east-1"),
            config=_TIMEOUTS,
        )
    )
    resources.on_close(stack.aclose)
    return S3MediaStore(client, bucket, options.get("cold_class", COLD_CLASS))


if TYPE_CHECKING:
    _check: MediaStore = S3MediaStore(None, "")
