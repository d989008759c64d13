"""The S3 endpoint that scripts/services starts answers the S3 API, presigned URLs included."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import aioboto3
import httpx2

from tests.backends import backend_url


async def test_real_s3_api_and_presigned_urls() -> None:
    url = urlsplit(backend_url("CHIRP_MEDIA_URL"))
    bucket, endpoint = url.netloc, parse_qs(url.query)["endpoint_url"][0]
    key = f"smoke/{secrets.token_hex(4)}.txt"
    session = aioboto3.Session()
    async with session.client("s3", endpoint_url=endpoint) as s3, httpx2.AsyncClient() as http:
        await s3.put_object(Bucket=bucket, Key=key, Body=b"chirp", ContentType="text/plain")
        head = await s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == 5 and head["ContentType"] == "text/plain"
        get_url = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}
        )
        fetched = await http.get(get_url)
        assert fetched.status_code == 200 and fetched.content == b"chirp"
        put_url = await s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key + ".2", "ContentType": "text/plain"}
        )
        put = await http.put(put_url, content=b"again", headers={"Content-Type": "text/plain"})
        assert put.status_code == 200
        body = await (await s3.get_object(Bucket=bucket, Key=key + ".2"))["Body"].read()
        assert body == b"again"
