"""Elasticsearch specifics: a mapping change moves the alias to a new index with every
document and no gap; an unreachable server is Unavailable within a bounded time."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from storage.elasticsearch import (
    MAPPINGS,
    ElasticsearchSearchIndex,
    _client,
    ensure_index,
    migrate,
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


async def test_a_cluster_url_names_several_nodes_and_sets_replicas() -> None:
    """`http://h1,h2?replicas=N`: a node that refuses (here: nothing listens on port 1) costs
    a request nothing, as when one node of a cluster dies; the indexes get N replicas."""
    server, _ = parse_url(backend_url("CHIRP_SEARCH_URL"))
    live = urlsplit(server).netloc.split(",")[0]
    alias = f"test-nodes-{secrets.token_hex(4)}"
    url = f"http://127.0.0.1:1,{live}?alias={alias}&users_alias={alias}-people"
    client = _client(parse_url(url)[0])
    try:
        for replicas in (0, 2):
            await migrate(f"{url}&replicas={replicas}")
            found = await client.indices.get_settings(index=f"{alias}-v1,{alias}-people-v1")
            assert {s["settings"]["index"]["number_of_replicas"] for s in found.values()} == {
                str(replicas)
            }
        index = ElasticsearchSearchIndex(client, alias)
        await index.index([SearchDocument(1, 7, "okapi", (), (), "en", utcnow(), False)])
        await client.indices.refresh(index=alias)
        for _ in range(6):  # every request, whichever node it is sent to first
            assert await index.search(SearchQuery(words=("okapi",)), 10) == [1]
    finally:
        await client.indices.delete(index=f"{alias}-v1,{alias}-people-v1", ignore_unavailable=True)
        await client.close()
