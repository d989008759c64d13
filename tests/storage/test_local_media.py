"""LocalMediaStore's own rules: the signed-URL routes refuse anything not signed exactly,
errors are small JSON bodies, and objects stay inside the media folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette

from app.media_routes import media_routes
from storage.local_media import (
    LocalMediaStore,
    open_media_store,
    sign,
    verify_signature,
)
from storage.registry import Resources
from tests.storage.contract.conftest import SETTINGS

KEY = "media/42/photo.png"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> LocalMediaStore:
    return LocalMediaStore(tmp_path / "media", "secret", "http://media.test", clock=clock)


@pytest.fixture
async def http(store: LocalMediaStore) -> AsyncIterator[httpx2.AsyncClient]:
    app = Starlette(routes=media_routes())
    app.state.stores = type("Stores", (), {"media": store})()
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)) as client:
        yield client


async def _put(
    http: httpx2.AsyncClient, url: str, body: bytes, content_type: str
) -> httpx2.Response:
    return await http.put(url, content=body, headers={"Content-Type": content_type})


def _error(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert "Traceback" not in body["error"]
    return str(body["error"])


async def test_upload_must_match_the_signed_content_type(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    url = await store.upload_url(KEY, "image/png", 4, 60)
    _error(await _put(http, url, b"abcd", "text/html"), 415)
    assert await store.head(KEY) is None


async def test_upload_must_be_exactly_the_signed_size(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    url = await store.upload_url(KEY, "image/png", 4, 60)
    _error(await _put(http, url, b"abcdef", "image/png"), 400)
    _error(await _put(http, url, b"ab", "image/png"), 400)
    assert await store.head(KEY) is None
    assert (await _put(http, url, b"abcd", "image/png")).status_code == 200


async def test_a_body_longer_than_signed_is_cut_off(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    url = await store.upload_url(KEY, "image/png", 4, 60)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = await http.put(url, content=chunks(), headers={"Content-Type": "image/png"})
    _error(response, 413)
    assert await store.head(KEY) is None


async def test_expired_urls_are_refused(
    store: LocalMediaStore, http: httpx2.AsyncClient, clock: Clock
) -> None:
    upload = await store.upload_url(KEY, "image/png", 4, 60)
    await store.put(KEY, b"abcd", "image/png")
    download = await store.download_url(KEY, 60)
    clock.now += 61
    assert "expired" in _error(await _put(http, upload, b"abcd", "image/png"), 403)
    assert "expired" in _error(await http.get(download), 403)


@pytest.mark.parametrize("param", ["signature", "size", "content_type", "expires"])
async def test_changing_any_signed_value_is_refused(
    store: LocalMediaStore, http: httpx2.AsyncClient, param: str
) -> None:
    url = await store.upload_url(KEY, "image/png", 4, 60)
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query[param] = {"signature": "0" * 64, "size": "5", "content_type": "image/gif"}.get(
        param, str(int(query["expires"]) + 3600)
    )
    tampered = parts._replace(query=httpx2.QueryParams(query).__str__()).geturl()
    content_type = query["content_type"]
    body = b"x" * int(query["size"])
    _error(await _put(http, tampered, body, content_type), 403)


async def test_unsigned_requests_are_refused(http: httpx2.AsyncClient) -> None:
    _error(await http.get(f"http://media.test/media/{KEY}"), 403)
    _error(await http.put(f"http://media.test/media/{KEY}?expires=abc", content=b"x"), 403)


async def test_invalid_keys_in_the_path_are_refused(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    _error(await http.get("http://media.test/media/a%2F..%2F..%2Fetc?expires=1&signature=x"), 400)
    _error(await http.get("http://media.test/media/a//b?expires=1&signature=x"), 400)


async def test_download_of_a_missing_object_is_not_found(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    _error(await http.get(await store.download_url(KEY, 60)), 404)


async def test_download_streams_large_objects(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    data = bytes(range(256)) * 1024  # several chunks
    await store.put(KEY, data, "application/octet-stream")
    response = await http.get(await store.download_url(KEY, 60))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == str(len(data))


@pytest.mark.parametrize(
    ("asked", "status", "first", "last"),
    [
        ("bytes=0-", 206, 0, 299_999),  # what a browser's <video> asks first
        ("bytes=100-199", 206, 100, 199),
        ("bytes=200000-", 206, 200_000, 299_999),  # seeking, across chunks
        ("bytes=-500", 206, 299_500, 299_999),  # the last 500 (a file's index at its end)
        ("bytes=299990-400000", 206, 299_990, 299_999),  # an end past the end is cut
        ("bytes=0-0", 206, 0, 0),
        ("bytes=5-1", 200, 0, 299_999),  # nonsense: ignored, the whole body
        ("bytes=0-1,5-9", 200, 0, 299_999),  # several ranges: ignored
        ("items=0-1", 200, 0, 299_999),
        ("bytes=x-", 200, 0, 299_999),
    ],
)
async def test_downloads_answer_byte_ranges(
    store: LocalMediaStore, http: httpx2.AsyncClient, asked: str, status: int, first: int, last: int
) -> None:
    data = bytes(range(256)) * 1171 + bytes(224)  # 300,000 bytes: several chunks
    await store.put(KEY, data, "video/mp4")
    response = await http.get(await store.download_url(KEY, 60), headers={"Range": asked})
    assert response.status_code == status
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "video/mp4"
    assert response.content == data[first : last + 1]
    assert response.headers["content-length"] == str(last + 1 - first)
    if status == 206:
        assert response.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"


async def test_a_range_past_the_end_is_not_satisfiable(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    await store.put(KEY, b"twelve bytes", "video/mp4")
    response = await http.get(await store.download_url(KEY, 60), headers={"Range": "bytes=12-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */12"


async def test_routes_answer_404_when_media_is_not_local(store: LocalMediaStore) -> None:
    app = Starlette(routes=media_routes())
    app.state.stores = type("Stores", (), {"media": object()})()
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app)) as client:
        _error(await client.get(await store.download_url(KEY, 60)), 404)


async def test_objects_stay_inside_the_folder_and_no_temporary_files_remain(
    store: LocalMediaStore, tmp_path: Path
) -> None:
    for number in range(5):
        await store.put(f"media/{number}.png", b"data", "image/png")
    files = [path for path in tmp_path.rglob("*") if path.is_file()]  # noqa: ASYNC240
    assert len(files) == 5
    assert all(path.is_relative_to(tmp_path / "media") for path in files)
    assert not any(path.name.startswith(".upload-") for path in files)


def test_verify_signature() -> None:
    signature = sign("secret", "PUT", KEY, "image/png", 4, 100)
    good = {"method": "PUT", "key": KEY, "content_type": "image/png", "size": 4, "expires": 100}
    assert verify_signature("secret", signature, **good)  # type: ignore[arg-type]
    for change in ({"method": "GET"}, {"key": KEY + "x"}, {"size": 5}, {"expires": 101}):
        assert not verify_signature("secret", signature, **{**good, **change})  # type: ignore[arg-type]
    assert not verify_signature("other", signature, **good)  # type: ignore[arg-type]


async def test_opener_reads_relative_and_absolute_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    resources = Resources(SETTINGS)
    relative = await open_media_store("file:///./data/media", resources)
    absolute = await open_media_store(f"file:///{tmp_path}/elsewhere", resources)
    assert relative.root.resolve() == tmp_path / "data" / "media"
    assert absolute.root == tmp_path / "elsewhere"
    assert (tmp_path / "data" / "media").is_dir()
    await resources.close()


async def test_the_cold_archive_is_a_plain_folder_tree(
    store: LocalMediaStore, http: httpx2.AsyncClient
) -> None:
    """`cold/` keys are files at their own path (an operator can browse, copy or back up
    the archive); other keys stay hashed. Listing skips a write still in flight."""
    key = "cold/tweets/42/2025-01.jsonl.gz"
    await store.put(key, b"archived", "application/gzip", cold=True)
    await store.put(KEY, b"photo", "image/png")
    assert store.path_of(key) == store.root / "cold" / "tweets" / "42" / "2025-01.jsonl.gz"
    assert store.path_of(key).is_file()
    assert store.path_of(KEY).parent.parent == store.root / "objects"
    (store.root / "cold" / "tweets" / "42" / ".upload-half-written").write_bytes(b"{")
    assert await store.keys("cold/", 10) == [key]
    assert await store.keys("", 10) == [key, KEY]
    assert await store.keys("media/", 10) == [KEY]
    response = await http.get(await store.download_url(key, 60))
    assert response.status_code == 200 and response.content == b"archived"
    await store.delete_many([key, KEY])
    assert not store.path_of(key).exists() and await store.keys("", 10) == []
