"""Media as a client uploads it: ask for an upload, PUT the bytes with plain HTTP, attach
the media to a tweet, fetch it back byte-identical through Tweet.media."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.client import GraphQLClient

UPLOAD = """mutation($type: String!, $size: Int!) {
  createMediaUpload(contentType: $type, size: $size) {
    mediaId uploadUrl contentType size expiresAt } }"""
POST = """mutation($text: String!, $media: [ID!]!) {
  postTweet(input: {text: $text, mediaIds: $media}) { id media { id url contentType } } }"""


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _upload(client: GraphQLClient, token: str, data: bytes, content_type: str = "image/png") -> str:
    upload = client.data(UPLOAD, {"type": content_type, "size": len(data)}, token)[
        "createMediaUpload"
    ]
    response = client.http.put(
        _path(upload["uploadUrl"]), content=data, headers={"Content-Type": content_type}
    )
    assert response.status_code in (200, 201, 204), response.text
    return str(upload["mediaId"])


def test_upload_attach_and_fetch_back(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(50_000)
    media_id = _upload(client, token, image)
    tweet = client.data(POST, {"text": "look #pic", "media": [media_id]}, token)["postTweet"]
    [media] = tweet["media"]
    assert media["id"] == media_id and media["contentType"] == "image/png"
    fetched = client.http.get(_path(media["url"]))
    assert fetched.status_code == 200 and fetched.content == image
    assert fetched.headers["content-type"] == "image/png"
    media_only = client.data(POST, {"text": "", "media": [media_id]}, token)["postTweet"]
    assert len(media_only["media"]) == 1


def test_media_rules(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")["accessToken"]
    bob = client.sign_up("bob")["accessToken"]
    for content_type, size in (("text/html", 10), ("image/png", 0), ("image/png", 6 * 1024 * 1024)):
        assert (
            client.error_code(UPLOAD, {"type": content_type, "size": size}, alice)
            == "BAD_USER_INPUT"
        )
    never_uploaded = client.data(UPLOAD, {"type": "image/png", "size": 10}, alice)[
        "createMediaUpload"
    ]["mediaId"]
    assert client.error_code(POST, {"text": "x", "media": [never_uploaded]}, alice) == "NOT_FOUND"
    alices = _upload(client, alice, b"0123456789")
    assert client.error_code(POST, {"text": "not mine", "media": [alices]}, bob) == "NOT_FOUND"
    five = [_upload(client, alice, bytes([i]) * 10) for i in range(5)]
    assert client.error_code(POST, {"text": "too many", "media": five}, alice) == "BAD_USER_INPUT"
    assert (
        client.error_code(POST, {"text": "junk", "media": ["bm9wZQ=="]}, alice) == "BAD_USER_INPUT"
    )
    # The upload URL holds the bytes to the size and type it was made for.
    upload = client.data(UPLOAD, {"type": "image/png", "size": 10}, alice)["createMediaUpload"]
    wrong = client.http.put(
        _path(upload["uploadUrl"]), content=b"x" * 11, headers={"Content-Type": "image/png"}
    )
    assert wrong.status_code >= 400


def test_upload_attach_and_fetch_back_on_s3(tmp_path: Path) -> None:
    import httpx2

    from tests.backends import backend_url
    from tests.support.client import embedded_settings, running_app

    settings = embedded_settings(tmp_path, media_url=backend_url("CHIRP_MEDIA_URL"))
    with running_app(settings) as client, httpx2.Client() as s3:
        token = client.sign_up("alice")["accessToken"]
        image = b"\xff\xd8\xff\xe0" + os.urandom(100_000)
        upload = client.data(UPLOAD, {"type": "image/jpeg", "size": len(image)}, token)[
            "createMediaUpload"
        ]
        put = s3.put(upload["uploadUrl"], content=image, headers={"Content-Type": "image/jpeg"})
        assert put.status_code == 200, put.text
        tweet = client.data(POST, {"text": "on s3", "media": [upload["mediaId"]]}, token)
        [media] = tweet["postTweet"]["media"]
        fetched = s3.get(media["url"])
        assert fetched.status_code == 200 and fetched.content == image
