"""HTTP routes behind LocalMediaStore's signed URLs: PUT and GET /media/{key}.

Only the local folder store is served here (an S3 store's URLs point at S3 itself). Every
failure is a small JSON body with a 4xx status, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from storage.instrumented import unwrapped
from storage.local_media import (
    MAX_UPLOAD_BYTES,
    InvalidKey,
    LocalMediaStore,
    validate_key,
)

Endpoint = Callable[[Request], Awaitable[Response]]


class MediaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _store(request: Request) -> LocalMediaStore:
    stores = getattr(request.app.state, "stores", None)
    store = unwrapped(getattr(stores, "media", None))
    if not isinstance(store, LocalMediaStore):
        raise MediaError(404, "media is not served by this server")
    return store


def _key(request: Request) -> str:
    try:
        return validate_key(request.path_params["key"])
    except InvalidKey:
        raise MediaError(400, "invalid media key") from None


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is True
        raise MediaError(403, f"missing or malformed {name}")
    return int(raw)


def _check(problem: str | None) -> None:
    if problem is not None:
        raise MediaError(403, problem)


async def _read_body(request: Request, size: int) -> bytes:
    """The body, which must be exactly `size` bytes; reading stops as soon as it is longer."""
    declared = request.headers.get("content-length")
    if declared is not None and declared != str(size):
        raise MediaError(400, "Content-Length does not match the signed size")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > size:
            raise MediaError(413, "body is larger than the signed size")
    if len(body) != size:
        raise MediaError(400, "body is smaller than the signed size")
    return bytes(body)


async def upload(request: Request) -> Response:
    store, key = _store(request), _key(request)
    content_type = request.query_params.get("content_type", "")
    size = _int_param(request, "size")
    expires = _int_param(request, "expires")
    signature = request.query_params.get("signature", "")
    _check(
        store.verify(
            signature, method="PUT", key=key, content_type=content_type,
            size=size, expires=expires,
        )
    )  # fmt: skip
    if size > MAX_UPLOAD_BYTES:
        raise MediaError(413, "upload is too large")
    if request.headers.get("content-type") != content_type:
        raise MediaError(415, "Content-Type does not match the signed content type")
    data = await _read_body(request, size)
    await store.put(key, data, content_type)
    return JSONResponse({"key": key, "size": size, "content_type": content_type})


async def download(request: Request) -> Response:
    store, key = _store(request), _key(request)
    expires = _int_param(request, "expires")
    signature = request.query_params.get("signature", "")
    _check(store.verify(signature, method="GET", key=key, expires=expires))
    found = await store.head(key)
    if found is None:
        raise MediaError(404, "no such media")
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    wanted = _byte_range(request.headers.get("range"), found.size)
    if wanted is None:
        headers["Content-Length"] = str(found.size)
        return StreamingResponse(store.stream(key), media_type=found.content_type, headers=headers)
    start, end = wanted
    if start >= found.size:  # nothing of it is there
        headers["Content-Range"] = f"bytes */{found.size}"
        return Response(status_code=416, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end}/{found.size}"
    headers["Content-Length"] = str(end - start + 1)
    body = store.stream(key, start, end - start + 1)
    return StreamingResponse(body, 206, media_type=found.content_type, headers=headers)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte of a single `Range: bytes=a-b` (or `a-`, or `-n`: the last
    n), as a video player asks for (Safari plays nothing without it, and seeking needs
    it). Anything else (several ranges, another unit, nonsense) is ignored, as HTTP allows:
    the whole body is sent. A start past the end is (size, size), answered with 416."""
    unit, _, spec = (header or "").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first + last).isascii() or not (first or last).isdigit():
        return None
    if not first:  # the last n bytes
        if not last.isdigit() or int(last) == 0:
            return None
        return max(0, size - int(last)), size - 1
    if not first.isdigit() or (last and not last.isdigit()):
        return None
    start, end = int(first), int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return size, size
    return start, min(end, size - 1)


def _handled(endpoint: Callable[[Request], Awaitable[Response]]) -> Endpoint:
    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except MediaError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)

    return run


def media_routes() -> list[Route]:
    return [
        Route("/media/{key:path}", _handled(upload), methods=["PUT"]),
        Route("/media/{key:path}", _handled(download), methods=["GET"]),
    ]
