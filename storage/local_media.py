"""LocalMediaStore: media in a local folder, behind signed URLs served by app/media_routes.py.

`file:///./data/media` (relative to the working folder) or `file:////abs/media`. An object
is one file, named by the SHA-256 of its key (so no key can reach outside the folder and
"a" and "a/b" can both exist), holding a JSON header line (key, size, content type) and
then the bytes; it is written to a temporary file and renamed, so readers see the old
object or the new one, never half of one.

Upload and download URLs carry `expires` and an HMAC-SHA256 `signature` over (method, key,
content type, size, expires) keyed by the app's secret key, like S3's presigned URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from storage.errors import StorageError
from storage.records import StoredObject
from storage.registry import Resources

if TYPE_CHECKING:
    from storage.ports import MediaStore

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
COLD_PREFIX = "cold/"  # archives: kept as a readable folder tree, not hashed
_KEY = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
_CONTENT_TYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")
_HEADER_LIMIT = 4096


class InvalidKey(ValueError):
    pass


def validate_key(key: str) -> str:
    """Keys are relative paths of [A-Za-z0-9_.-] segments: no empty or '.' segment, and no
    '..' anywhere (S3 would take such keys literally; a filesystem would not)."""
    if len(key) > 512 or not _KEY.fullmatch(key) or ".." in key or "." in key.split("/"):
        raise InvalidKey(f"invalid media key {key!r}")
    return key


def validate_content_type(content_type: str) -> str:
    if not _CONTENT_TYPE.fullmatch(content_type) or "/" not in content_type:
        raise ValueError(f"invalid content type {content_type!r}")
    return content_type


def sign(
    secret: str, method: str, key: str, content_type: str, size: int | None, expires: int
) -> str:
    """Hex HMAC-SHA256 over the request a URL allows. Fields are newline-separated, and
    neither keys nor content types may hold a newline, so fields cannot run together."""
    message = "\n".join([method.upper(), key, content_type, "" if size is None else str(size)])
    message += f"\n{expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    signature: str,
    *,
    method: str,
    key: str,
    content_type: str = "",
    size: int | None = None,
    expires: int,
) -> bool:
    """True when `signature` was made by sign() for exactly these values (constant time).
    Expiry is the caller's check: `expires` is Unix seconds."""
    expected = sign(secret, method, key, content_type, size, expires)
    return hmac.compare_digest(expected, signature)


def root_from_url(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc:
        raise StorageError(f"media URL {url!r} must not name a host: use file:///./folder")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise StorageError(f"media URL {url!r} names no folder")
    return Path(path)


class LocalMediaStore:
    def __init__(
        self,
        root: Path,
        secret_key: str,
        public_base_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret_key:
            raise StorageError("local media needs a secret key to sign URLs (CHIRP_SECRET_KEY)")
        self.root = root
        self._secret = secret_key
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock

    def path_of(self, key: str) -> Path:
        if validate_key(key).startswith(COLD_PREFIX):
            return self.root / key  # the cold archive: a plain folder tree, `cold/...`
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / "objects" / digest[:2] / digest

    async def put(self, key: str, data: bytes, content_type: str, cold: bool = False) -> None:
        """`cold` changes nothing here: archives are told by their `cold/` keys."""
        validate_content_type(content_type)
        header = {"key": key, "size": len(data), "content_type": content_type}
        await asyncio.to_thread(_write_atomically, self.path_of(key), header, data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(_read_data, self.path_of(key))

    async def delete_many(self, keys: Sequence[str]) -> None:
        paths = [self.path_of(key) for key in keys]
        await asyncio.to_thread(_unlink_all, paths)

    async def keys(self, prefix: str, limit: int, after: str | None = None) -> list[str]:
        """Cold keys are read from their folder tree; any other prefix reads every object's
        header (the embedded default holds one user's worth of media, not a fleet's)."""
        if limit <= 0:
            return []
        found = await asyncio.to_thread(self._all_keys, prefix)
        return sorted(k for k in found if after is None or k > after)[:limit]

    def _all_keys(self, prefix: str) -> list[str]:
        if prefix.startswith(COLD_PREFIX) or COLD_PREFIX.startswith(prefix):
            folder = self.root / "cold"
            cold = [
                path.relative_to(self.root).as_posix()
                for path in (folder.rglob("*") if folder.is_dir() else [])
                if path.is_file() and not path.name.startswith(".upload-")
            ]
        else:
            cold = []
        objects = self.root / "objects"
        hashed = []
        if not prefix.startswith(COLD_PREFIX) and objects.is_dir():
            for path in objects.glob("*/*"):
                header = _read_header(path) if not path.name.startswith(".") else None
                if header is not None:
                    hashed.append(str(header["key"]))
        return [key for key in cold + hashed if key.startswith(prefix)]

    async def head(self, key: str) -> StoredObject | None:
        header = await asyncio.to_thread(_read_header, self.path_of(key))
        if header is None:
            return None
        return StoredObject(key, header["size"], header["content_type"])

    async def stream(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        """The object's bytes in chunks (for the download route), from byte `start` and at
        most `length` of them (a video player's range request); nothing if it is missing."""
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            return
        try:
            await asyncio.to_thread(handle.readline, _HEADER_LIMIT)
            if start:
                await asyncio.to_thread(handle.seek, start, os.SEEK_CUR)
            left = length
            while left is None or left > 0:
                want = CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def upload_url(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        validate_key(key)
        validate_content_type(content_type)
        if not 0 <= size <= MAX_UPLOAD_BYTES:
            raise ValueError(f"upload size must be within 0..{MAX_UPLOAD_BYTES} bytes")
        expires = int(self._clock()) + expires_s
        signature = sign(self._secret, "PUT", key, content_type, size, expires)
        query = {"content_type": content_type, "size": size, "expires": expires}
        return self._url(key, {**query, "signature": signature})

    async def download_url(self, key: str, expires_s: int) -> str:
        validate_key(key)
        expires = int(self._clock()) + expires_s
        signature = sign(self._secret, "GET", key, "", None, expires)
        return self._url(key, {"expires": expires, "signature": signature})

    def verify(
        self, signature: str, *, method: str, key: str, expires: int,
        content_type: str = "", size: int | None = None,
    ) -> str | None:  # fmt: skip
        """None when the signature is good and unexpired, else what is wrong with it."""
        if not verify_signature(
            self._secret, signature, method=method, key=key,
            content_type=content_type, size=size, expires=expires,
        ):  # fmt: skip
            return "invalid signature"
        if expires < self._clock():
            return "expired"
        return None

    def _url(self, key: str, query: dict[str, object]) -> str:
        return f"{self._base_url}/media/{quote(key, safe='/')}?{urlencode(query)}"


def _write_atomically(path: Path, header: dict[str, object], data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _unlink_all(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _read_data(path: Path) -> bytes | None:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None
    return content.partition(b"\n")[2]


def _read_header(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            line = handle.readline(_HEADER_LIMIT)
    except FileNotFoundError:
        return None
    header: dict[str, Any] = json.loads(line)
    return header


async def open_media_store(url: str, resources: Resources) -> LocalMediaStore:
    settings = resources.settings
    root = root_from_url(url)
    root.mkdir(parents=True, exist_ok=True)
    return LocalMediaStore(root, settings.secret_key, settings.public_base_url)


if TYPE_CHECKING:  # mypy checks that the adapter really implements its port

    def _implements_port(store: LocalMediaStore) -> MediaStore:
        return store
