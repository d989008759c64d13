"""Data export as users meet it, on both profiles (the engines profile with media on S3):
one request at a time, an archive built by the worker with every file and exact contents,
a signed URL only for its owner that never outlives the export, and the lifecycle pass that
removes it once the export's time is up (and never a moment before)."""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.lifecycle import Tally
from app.settings import Settings
from storage import clock
from storage.local_media import root_from_url
from storage.records import utcnow
from tests.backends import backend_url
from tests.support.cli import run_chirp
from tests.support.client import GraphQLClient, running_app
from tests.support.profiles import PROFILES, settings_on, unique

REQUEST = "mutation { requestDataExport { status requestedAt expiresAt url } }"
MINE = "query { me { dataExport { status url expiresAt requestedAt finishedAt } } }"
THEIRS = "query($n: String!) { user(username: $n) { dataExport { status url } } }"
UPLOAD = """mutation($type: String!, $size: Int!) {
  createMediaUpload(contentType: $type, size: $size) { mediaId uploadUrl } }"""
POST = """mutation($text: String!, $media: [ID!]!) {
  postTweet(input: {text: $text, mediaIds: $media}) { id databaseId } }"""
LIKE = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
BOOKMARK = "mutation($id: ID!) { bookmark(id: $id) { id } }"
DELETE = "mutation($id: ID!) { deleteTweet(id: $id) }"
FILES = {
    "profile.json",
    "settings.json",
    "tweets.json",
    "likes.json",
    "followers.json",
    "following.json",
    "bookmarks.json",
}
TTL = timedelta(days=7)
AHEAD = timedelta(days=3650)


@pytest.fixture(params=PROFILES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """No worker in the app: the test drains the job streams itself, so an export stays
    PENDING until it does. On the engines profile media live on S3."""
    settings = own_queue(settings_on(request.param, tmp_path))
    if request.param == "engines":
        settings = settings.with_overrides(media_url=backend_url("CHIRP_MEDIA_URL"))
    return settings


def own_queue(settings: Settings) -> Settings:
    """No worker in the app, and on Redis job streams of this test's own: the workers of
    other apps on the shared server would take its jobs (and store archives in their own
    media folders)."""
    settings = settings.with_overrides(run_workers=False)
    if settings.cache_url.startswith("redis"):
        prefix = f"chirp:jobs:export-test-{secrets.token_hex(4)}"
        settings = settings.with_overrides(queue_url=f"{settings.cache_url}?prefix={prefix}")
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[GraphQLClient]:
    with running_app(settings) as graphql:
        yield graphql


@pytest.fixture
def travel() -> Iterator[Any]:
    """Moves the clock, starting AHEAD of the others: the lifecycle passes of other tests
    on the shared servers (travelling up to a year or so) expire every export due by their
    time, so this test's exports are due long after any of theirs."""
    clock.travel(AHEAD)
    try:
        yield clock.travel
    finally:
        clock.reset()


def drain(client: GraphQLClient) -> None:
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    client.http.portal.call(chirp.worker().drain)


def on_shared_servers(client: GraphQLClient) -> bool:
    settings: Settings = client.http.app.state.chirp.settings  # type: ignore[attr-defined]
    return settings.users_url.startswith("postgres")


def run_pass(client: GraphQLClient) -> dict[str, Any]:
    """A lifecycle pass now, on this test's clock. On the embedded profile the whole pass;
    on the shared servers only the expire_exports step: with the clock moved years ahead,
    the other steps would purge, evict and archive the data of every other test running
    there (their own tests cover those steps)."""
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    if not on_shared_servers(client):
        return dict(client.http.portal.call(chirp.lifecycle.run_pass))
    [step] = [step for step in chirp.lifecycle.steps if step.name == "expire_exports"]
    tally = Tally(step.name)
    client.http.portal.call(step, utcnow(), tally)
    return {step.name: tally.counts}


def media_object(client: GraphQLClient, key: str) -> bytes | None:
    stores = client.http.app.state.stores  # type: ignore[attr-defined]
    found: bytes | None = client.http.portal.call(stores.media.get, key)
    return found


def is_local(url: str) -> bool:
    return "/media/" in url and "X-Amz-Signature" not in url


def http_get(client: GraphQLClient, url: str) -> bytes:
    """As a client fetches a URL: the app's media route, or S3 itself."""
    if is_local(url):
        parts = urlsplit(url)
        response = client.http.get(f"{parts.path}?{parts.query}")
    else:
        import httpx2

        response = httpx2.get(url)
    assert response.status_code == 200, response.text
    return bytes(response.content)


def upload(client: GraphQLClient, token: str, data: bytes) -> tuple[str, str]:
    """(media id, media key) of a PNG uploaded as a client does."""
    made = client.data(UPLOAD, {"type": "image/png", "size": len(data)}, token)
    url = made["createMediaUpload"]["uploadUrl"]
    headers = {"Content-Type": "image/png"}
    if is_local(url):
        parts = urlsplit(url)
        put = client.http.put(f"{parts.path}?{parts.query}", content=data, headers=headers)
    else:
        import httpx2

        put = httpx2.put(url, content=data, headers=headers)
    assert put.status_code in (200, 201, 204), put.text
    media_id = made["createMediaUpload"]["mediaId"]
    key = base64.urlsafe_b64decode(media_id).decode().partition(":")[2]
    return media_id, key


def url_lifetime_s(url: str) -> float:
    """How long from now a signed URL works."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Expires" in query:
        return float(query["X-Amz-Expires"][0])
    return float(query["expires"][0]) - time.time()


def mine(client: GraphQLClient, token: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.data(MINE, {}, token)["me"]["dataExport"]
    return found


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_an_export_holds_exactly_the_users_data_and_only_they_see_it(
    client: GraphQLClient, travel: Any
) -> None:
    ada, bob, cy = (client.sign_up(unique(n)) for n in ("ada", "bob", "cy"))
    a, b, c = (p["accessToken"] for p in (ada, bob, cy))
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(30_000)
    media_id, key = upload(client, a, image)
    first = client.data(POST, {"text": "first #one", "media": []}, a)["postTweet"]
    pictured = client.data(POST, {"text": "with a picture", "media": [media_id]}, a)["postTweet"]
    gone = client.data(POST, {"text": "deleted", "media": []}, a)["postTweet"]
    last = client.data(POST, {"text": "last", "media": []}, a)["postTweet"]
    client.data(DELETE, {"id": gone["id"]}, a)
    bobs = client.post_tweet(b, "bob's")
    cys = client.post_tweet(c, "cy's")
    client.data(LIKE, {"id": bobs["id"]}, a)
    client.data(BOOKMARK, {"id": cys["id"]}, a)
    client.follow(a, bob["user"]["id"])
    client.follow(c, ada["user"]["id"])
    drain(client)
    assert mine(client, a) is None

    requested = client.data(REQUEST, {}, a)["requestDataExport"]
    assert requested["status"] == "PENDING" and requested["url"] is None
    assert client.error_code(REQUEST, {}, a) == "EXPORT_IN_PROGRESS"
    assert mine(client, a) == {**requested, "finishedAt": None}  # the refused one changed nothing
    assert client.error_code(REQUEST, {}, None) == "UNAUTHENTICATED"

    drain(client)
    export = mine(client, a)
    assert export is not None and export["status"] == "READY"
    assert export["requestedAt"] == requested["requestedAt"]
    assert export["url"] is not None and url_lifetime_s(export["url"]) <= 6 * 3600 + 1
    files = unzip(http_get(client, export["url"]))
    assert set(files) == FILES | {f"media/{key}"}
    assert files[f"media/{key}"] == image

    profile = json.loads(files["profile.json"])
    assert profile["username"] == ada["user"]["username"]
    assert profile["id"] == ada["user"]["databaseId"] and "password_hash" not in profile
    assert json.loads(files["settings.json"])["user_id"] == ada["user"]["databaseId"]
    tweets = json.loads(files["tweets.json"])
    assert [(t["id"], t["text"]) for t in tweets] == [
        (last["databaseId"], "last"),
        (pictured["databaseId"], "with a picture"),
        (first["databaseId"], "first #one"),
    ]
    assert tweets[1]["media_urls"] == [key] and tweets[2]["hashtags"] == ["one"]
    assert [like["tweet_id"] for like in json.loads(files["likes.json"])] == [bobs["databaseId"]]
    bookmarks = json.loads(files["bookmarks.json"])
    assert [mark["tweet_id"] for mark in bookmarks] == [cys["databaseId"]]
    following = json.loads(files["following.json"])
    assert [(p["user_id"], p["username"]) for p in following] == [
        (bob["user"]["databaseId"], bob["user"]["username"])
    ]
    followers = json.loads(files["followers.json"])
    assert [p["user_id"] for p in followers] == [cy["user"]["databaseId"]]

    # Only the owner sees it: not another user, on their own `me` or on the owner's profile.
    assert mine(client, b) is None
    theirs = client.data(THEIRS, {"n": ada["user"]["username"]}, b)["user"]
    assert theirs["dataExport"] is None
    assert client.data(THEIRS, {"n": ada["user"]["username"]}, None)["user"]["dataExport"] is None
    # Each sees their own: Bob's request neither shows to Ada nor is refused for hers.
    bobs_export = client.data(REQUEST, {}, b)["requestDataExport"]
    assert mine(client, b) == {**bobs_export, "finishedAt": None}
    assert mine(client, a) == export | {"url": mine(client, a)["url"]}  # type: ignore[index]


def test_an_export_expires_after_its_ttl_and_never_before(
    client: GraphQLClient, travel: Any
) -> None:
    early, late = (client.sign_up(unique(n)) for n in ("early", "late"))
    e, la = early["accessToken"], late["accessToken"]
    client.data(REQUEST, {}, e)
    drain(client)
    export = mine(client, e)
    assert export is not None and export["status"] == "READY"
    key = _key_of(client, early)
    travel(timedelta(days=2))
    client.data(REQUEST, {}, la)
    drain(client)
    late_key = _key_of(client, late)

    # One day before the early export's end: the pass leaves both alone.
    travel(TTL - timedelta(days=3))
    run_pass(client)
    assert mine(client, e)["status"] == "READY"  # type: ignore[index]
    assert media_object(client, key) is not None
    # ... and its URL never outlives it: 30 minutes before the end, 30 minutes at most.
    travel(timedelta(days=1) - timedelta(minutes=30))
    url = mine(client, e)["url"]  # type: ignore[index]
    assert url is not None and url_lifetime_s(url) <= 30 * 60 + 1
    assert http_get(client, url)[:2] == b"PK"

    # One day past it (the late one still has a day to go): only the early one goes.
    travel(timedelta(days=1, minutes=30))
    report = run_pass(client)
    purged = report["expire_exports"]["purged"]
    # Exact on the embedded store; on the shared servers older runs' leftovers may be due too.
    assert purged == 1 or (purged > 1 and on_shared_servers(client))
    expired = mine(client, e)
    assert expired is not None and (expired["status"], expired["url"]) == ("EXPIRED", None)
    assert media_object(client, key) is None
    assert mine(client, la)["status"] == "READY"  # type: ignore[index]
    assert media_object(client, late_key) is not None
    assert run_pass(client)["expire_exports"]["purged"] == 0  # nothing left to do

    # Expired: a new request is welcome, and builds a new archive.
    again = client.data(REQUEST, {}, e)["requestDataExport"]
    assert again["status"] == "PENDING"
    drain(client)
    assert mine(client, e)["status"] == "READY"  # type: ignore[index]
    assert _key_of(client, early) != key


def test_chirp_lifecycle_run_expires_exports(settings: Settings) -> None:
    """`chirp lifecycle run` runs on the real clock (another process), so the export lives
    one second. On the shared servers a pass of another test (its clock moved ahead) may
    expire it first, deleting from its own media store: there only the outcome is checked."""
    short = settings.with_overrides(lifecycle=replace(settings.lifecycle, export_ttl_s=1.0))
    shared = short.users_url.startswith("postgres")
    with running_app(short) as client:
        person = client.sign_up(unique("brief"))
        token = person["accessToken"]
        client.data(REQUEST, {}, token)
        drain(client)
        if not shared:
            assert mine(client, token)["status"] == "READY"  # type: ignore[index]
            key = _key_of(client, person)
        time.sleep(1.2)
        assert mine(client, token)["url"] is None  # expired, not yet removed: no URL
        done = run_chirp(short, "lifecycle", "run")
        assert done.returncode == 0, done.stderr
        assert "expire_exports: " in done.stdout, done.stdout
        assert mine(client, token)["status"] == "EXPIRED"  # type: ignore[index]
        if not shared:
            assert "expire_exports: 1 purged" in done.stdout, done.stdout
            assert media_object(client, key) is None


def _key_of(client: GraphQLClient, person: dict[str, Any]) -> str:
    """The archive's key, as the store holds it."""
    stores = client.http.app.state.stores  # type: ignore[attr-defined]
    user_id = int(person["user"]["databaseId"])
    export = client.http.portal.call(stores.lifecycle.export_of, user_id)
    assert export is not None and export.key is not None
    return str(export.key)


@pytest.mark.parametrize("profile", PROFILES)
def test_an_export_that_cannot_be_stored_fails_and_may_be_asked_again(
    profile: str, tmp_path: Path
) -> None:
    """The media folder cannot take the archive (a file where its object folder goes): after
    its last attempt the export is FAILED, and a new request is accepted."""
    settings = own_queue(settings_on(profile, tmp_path))
    with running_app(settings) as client:
        token = client.sign_up(unique("unlucky"))["accessToken"]
        client.post_tweet(token, "something to export")
        drain(client)
        blocker = root_from_url(settings.media_url) / "objects"
        assert not blocker.exists()
        blocker.write_bytes(b"not a folder")
        client.data(REQUEST, {}, token)
        drain(client)
        failed = mine(client, token)
        assert failed is not None and (failed["status"], failed["url"]) == ("FAILED", None)
        assert failed["finishedAt"] is not None
        blocker.unlink()
        assert client.data(REQUEST, {}, token)["requestDataExport"]["status"] == "PENDING"
        drain(client)
        assert mine(client, token)["status"] == "READY"  # type: ignore[index]


def test_an_export_holds_the_tweets_in_the_cold_archive_too(
    client: GraphQLClient, travel: Any
) -> None:
    person = client.sign_up(unique("veteran"))
    token, author_id = person["accessToken"], int(person["user"]["databaseId"])
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(5_000)
    media_id, key = upload(client, token, image)
    old = client.data(POST, {"text": "from long ago", "media": []}, token)["postTweet"]
    pictured = client.data(POST, {"text": "old picture", "media": [media_id]}, token)["postTweet"]
    drain(client)
    travel(timedelta(days=400))  # past the cold threshold (365 days)
    new = client.post_tweet(token, "this year")
    drain(client)
    chirp = client.http.app.state.chirp  # type: ignore[attr-defined]
    stores = chirp.stores
    old_ids = [int(old["databaseId"]), int(pictured["databaseId"])]
    if on_shared_servers(client):
        # Shared servers: archive this author's old tweets only, as the cold step would (the
        # whole step would archive every other test's tweets too).
        tweets = client.http.portal.call(stores.tweets.get_many, old_ids)
        assert len(client.http.portal.call(chirp.archive.move, tweets)) == 2
    else:
        assert run_pass(client)["cold"]["moved"] == 2  # the new tweet stays
    assert client.http.portal.call(stores.tweets.get_many, old_ids) == [None, None]
    client.data(REQUEST, {}, token)
    drain(client)
    export = mine(client, token)
    assert export is not None and export["status"] == "READY"
    files = unzip(http_get(client, export["url"]))
    tweets = json.loads(files["tweets.json"])
    assert [(t["id"], t["text"]) for t in tweets] == [
        (new["databaseId"], "this year"),
        (pictured["databaseId"], "old picture"),
        (old["databaseId"], "from long ago"),
    ]
    assert all(t["user_id"] == str(author_id) for t in tweets)
    assert files[f"media/{key}"] == image


@pytest.mark.parametrize("profile", PROFILES)
def test_an_export_whose_job_was_lost_stops_blocking_after_six_hours(
    profile: str, tmp_path: Path, travel: Any
) -> None:
    """No worker ever takes the job (it was dead-lettered, say): the export stays PENDING
    and refuses a second request for six hours, then a new request replaces it."""
    with running_app(own_queue(settings_on(profile, tmp_path))) as client:
        token = client.sign_up(unique("stranded"))["accessToken"]
        first = client.data(REQUEST, {}, token)["requestDataExport"]
        travel(timedelta(hours=5, minutes=59))
        assert client.error_code(REQUEST, {}, token) == "EXPORT_IN_PROGRESS"
        travel(timedelta(minutes=2))
        second = client.data(REQUEST, {}, token)["requestDataExport"]
        assert second["status"] == "PENDING" and second["requestedAt"] > first["requestedAt"]
        drain(client)
        assert mine(client, token)["status"] == "READY"  # type: ignore[index]
