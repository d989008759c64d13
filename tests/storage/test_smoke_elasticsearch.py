"""The Elasticsearch that scripts/services starts is the real one, of the client's major."""

from __future__ import annotations

import secrets

from elasticsearch import AsyncElasticsearch
from elasticsearch import __versionstr__ as client_version

from tests.backends import backend_url


async def test_real_elasticsearch() -> None:
    client = AsyncElasticsearch(backend_url("CHIRP_SEARCH_URL"), request_timeout=10)
    index = f"smoke-{secrets.token_hex(4)}"
    try:
        info = await client.info()  # the client checks the server says it is Elasticsearch
        assert info["version"]["number"].split(".")[0] == client_version.split(".")[0]
        await client.index(index=index, id="1", document={"text": "hello chirp"}, refresh=True)
        found = await client.search(index=index, query={"match": {"text": "chirp"}})
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["1"]
    finally:
        await client.indices.delete(index=index, ignore_unavailable=True)
        await client.close()
