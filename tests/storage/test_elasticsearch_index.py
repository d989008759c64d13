"""Elasticsearch specifics: a mapping change moves the alias to a new index with every
document and no gap; an unreachable server is Unavailable within a bounded time."""

from __future__ import annotations

import secrets

from storage.elasticsearch import (
    MAPPINGS,
    ElasticsearchSearchIndex,
    _client,
    ensure_index,
    parse_url,
)
from storage.records import SearchDocument, SearchQuery, utcnow
from tests.backends import backend_url
from tests.storage.unreachable import assert_unavailable_quickly


async def test_a_mapping_change_reindexes_behind_the_alias() -> None:
    server, _ = parse_url(backend_url("CHIRP_SEARCH_URL"))
    alias = f"test-alias-{secrets.token_hex(4)}"
    client = _client(server)
    try:
        assert await ensure_index(client, alias, 1, MAPPINGS) == [f"{alias}-v1"]
        assert await ensure_index(client, alias, 1, MAPPINGS) == []  # idempotent
        index = ElasticsearchSearchIndex(client, alias)
        now = utcnow()
        await index.index(
            [
                SearchDocument(n, 7, f"zebra number {n}", ("tag",), (), "en", now, False)
                for n in (1, 2, 3)
            ]
        )
        assert await ensure_index(client, alias, 2, MAPPINGS) == [f"{alias}-v2"]
        assert list((await client.indices.get_alias(name=alias)).keys()) == [f"{alias}-v2"]
        assert await index.search(SearchQuery(words=("zebra",)), 10) == [3, 2, 1]
    finally:
        await client.indices.delete(index=f"{alias}-v1,{alias}-v2", ignore_unavailable=True)
        await client.close()


async def test_an_unreachable_elasticsearch_is_unavailable_quickly() -> None:
    backend_url("CHIRP_SEARCH_URL")  # runs with the other Elasticsearch tests
    await assert_unavailable_quickly("search", "http://127.0.0.1:1", within_s=30)
