"""ElasticsearchSearchIndex: tweets (and people) in Elasticsearch indexes behind aliases.

`http://h:9200` (`?alias=name` to use another alias), or several nodes of one cluster,
`http://h1:9200,h2:9200`: a request a node cannot take (refused, reset) is sent to another.
`?replicas=N` gives each index N replicas of every shard (Elasticsearch's default, 1, unless
set; `migrate` applies a change to existing indexes). `migrate(url)` creates the index
`<alias>-v<MAPPING_VERSION>` and points the alias at it; when the mapping version changes,
it creates the new index, copies every document into it (client side: this build of
Elasticsearch has no reindex module), and swaps the alias atomically, so reads never stop.

`?users_alias=name` names the people-search alias (default `chirp-users`, made the same way;
its mapping and queries are in storage/elasticsearch_people.py).

Text uses the core `standard` analyzer. This distribution has no analysis-common module (no
asciifolding filter), so accents are folded by Chirp itself, the same way for indexed text
and for queries. Writes do not wait for a refresh: they are searchable within the index's
refresh interval (1 s), and the read path hides deleted tweets meanwhile. Results page by
search_after on the tweet id, never from/size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    BadRequestError,
    ConnectionTimeout,
    NotFoundError,
)
from elasticsearch import (
    ConnectionError as EsConnectionError,
)
from elasticsearch.helpers import async_bulk, async_scan

from storage.elasticsearch_people import (
    DEFAULT_USERS_ALIAS,
    USER_MAPPINGS,
    USERS_MAPPING_VERSION,
    people_body,
    user_hits,
    user_source,
)
from storage.errors import StorageError, Unavailable
from storage.records import (
    SearchDocument,
    SearchQuery,
    Trend,
    UserDocument,
    UserHit,
    UserSearchQuery,
    ms_from_utc,
)
from storage.registry import Resources
from storage.search_text import fold

MAPPING_VERSION = 1
DEFAULT_ALIAS = "chirp-tweets"
REQUEST_TIMEOUT_S = 10  # writes (bulk indexing runs in jobs, which retry)
READ_TIMEOUT_S = 3  # reads someone is waiting on: a slow cluster answers UNAVAILABLE soon
PREVIOUS_WINDOW_HOURS = 24
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "tweet_id": {"type": "long"},
        "author_id": {"type": "long"},
        "text": {"type": "text", "analyzer": "standard"},
        "hashtags": {"type": "keyword"},
        "mentions": {"type": "long"},
        "language": {"type": "keyword"},
        "created_at": {"type": "date", "format": "epoch_millis"},
        "protected": {"type": "boolean"},
    },
}


def _has_token(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _options(url: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}


def parse_url(url: str) -> tuple[str, str]:
    """(server, tweets alias)."""
    server = urlunsplit(urlsplit(url)._replace(query=""))
    return server, _options(url).get("alias", DEFAULT_ALIAS)


def replicas_of(url: str) -> int | None:
    replicas = _options(url).get("replicas")
    return int(replicas) if replicas is not None else None


def nodes_of(server: str) -> list[str]:
    """`http://h1:9200,h2:9200` → each node's URL."""
    parts = urlsplit(server)
    return [f"{parts.scheme}://{host}" for host in parts.netloc.split(",") if host]


def users_alias_of(url: str) -> str:
    return _options(url).get("users_alias", DEFAULT_USERS_ALIAS)


@asynccontextmanager
async def es_errors(what: str) -> AsyncIterator[None]:
    try:
        yield
    except (EsConnectionError, ConnectionTimeout) as error:
        raise Unavailable(f"Elasticsearch unavailable ({what})") from error
    except ApiError as error:
        raise StorageError(f"Elasticsearch refused ({what}): {error}") from error


def _client(server: str) -> AsyncElasticsearch:
    return AsyncElasticsearch(nodes_of(server), request_timeout=REQUEST_TIMEOUT_S, max_retries=1)


def _source(document: SearchDocument) -> dict[str, Any]:
    return {
        "tweet_id": document.tweet_id,
        "author_id": document.author_id,
        "text": fold(document.text),
        "hashtags": [tag.lstrip("#").casefold() for tag in document.hashtags],
        "mentions": list(document.mentions),
        "language": document.language,
        "created_at": ms_from_utc(document.created_at),
        "protected": document.protected,
    }


class ElasticsearchSearchIndex:
    def __init__(
        self, client: AsyncElasticsearch, alias: str, users_alias: str = DEFAULT_USERS_ALIAS
    ) -> None:
        self._client = client
        self._reader = client.options(request_timeout=READ_TIMEOUT_S)
        self._alias = alias
        self._users_alias = users_alias

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        actions = [
            {
                "_op_type": "index",
                "_index": self._alias,
                "_id": str(d.tweet_id),
                "_source": _source(d),
            }
            for d in {d.tweet_id: d for d in documents}.values()
        ]
        if actions:
            async with es_errors("index"):
                await async_bulk(self._client, actions)

    async def remove(self, tweet_ids: Sequence[int]) -> None:
        actions = [
            {"_op_type": "delete", "_index": self._alias, "_id": str(tweet_id)}
            for tweet_id in dict.fromkeys(tweet_ids)
        ]
        if actions:
            async with es_errors("remove"):
                # A tweet that was never indexed is fine to remove.
                await async_bulk(self._client, actions, raise_on_error=False)

    async def ping(self) -> None:
        async with es_errors("ping"):
            await self._client.cluster.health(index=self._alias, timeout="2s")

    async def refresh(self) -> None:
        async with es_errors("refresh"):
            await self._client.indices.refresh(index=f"{self._alias},{self._users_alias}")

    async def index_users(self, documents: Sequence[UserDocument]) -> None:
        actions = [
            {
                "_op_type": "index",
                "_index": self._users_alias,
                "_id": str(d.user_id),
                "_source": user_source(d),
            }
            for d in {d.user_id: d for d in documents}.values()
        ]
        if actions:
            async with es_errors("index users"):
                await async_bulk(self._client, actions)

    async def remove_users(self, user_ids: Sequence[int]) -> None:
        actions = [
            {"_op_type": "delete", "_index": self._users_alias, "_id": str(user_id)}
            for user_id in dict.fromkeys(user_ids)
        ]
        if actions:
            async with es_errors("remove users"):
                await async_bulk(self._client, actions, raise_on_error=False)

    async def search_users(
        self, query: UserSearchQuery, limit: int, after: UserHit | None = None
    ) -> list[UserHit]:
        body = people_body(query, limit, after)
        if body is None:
            return []
        async with es_errors("search users"):
            found = await self._reader.search(index=self._users_alias, body=body)
        return user_hits(found)

    async def search(self, query: SearchQuery, limit: int, before: int | None = None) -> list[int]:
        terms = [*query.words, *query.phrases]
        if limit <= 0 or (terms and not any(_has_token(term) for term in terms)):
            return []
        must: list[dict[str, Any]] = [
            {"match": {"text": {"query": fold(word), "operator": "and"}}}
            for word in query.words
            if _has_token(word)
        ]
        must += [
            {"match_phrase": {"text": fold(phrase)}}
            for phrase in query.phrases
            if _has_token(phrase)
        ]
        visible = [*query.visible_protected_authors]
        if query.viewer_id is not None:
            visible.append(query.viewer_id)
        filters: list[dict[str, Any]] = [
            {"term": {"hashtags": tag.lstrip("#").casefold()}}
            for tag in dict.fromkeys(query.hashtags)
        ]
        filters.append(
            {
                "bool": {
                    "should": [{"term": {"protected": False}}, {"terms": {"author_id": visible}}]
                }
            }
        )
        if query.author_ids:
            filters.append({"terms": {"author_id": list(query.author_ids)}})
        moment: dict[str, int] = {}
        if query.since is not None:
            moment["gte"] = ms_from_utc(query.since)
        if query.until is not None:
            moment["lt"] = ms_from_utc(query.until)
        if moment:
            filters.append({"range": {"created_at": moment}})
        body: dict[str, Any] = {
            "query": {"bool": {"must": must, "filter": filters}},
            "sort": [{"tweet_id": "desc"}],
            "size": limit,
            "_source": False,
            "track_total_hits": False,
        }
        if before is not None:
            body["search_after"] = [before]
        async with es_errors("search"):
            found = await self._reader.search(index=self._alias, body=body)
        return [int(hit["sort"][0]) for hit in found["hits"]["hits"]]

    async def trending(self, limit: int, now: datetime) -> list[Trend]:
        """Score = last hour / (1 + the previous 24 hours' hourly mean), as terms
        aggregations over the two windows; protected tweets do not count."""
        end = ms_from_utc(now)
        hour_ago = end - 3_600_000
        start = hour_ago - PREVIOUS_WINDOW_HOURS * 3_600_000

        def window(gte: int, **upper: int) -> dict[str, Any]:
            return {
                "filter": {"range": {"created_at": {"gte": gte, **upper}}},
                "aggs": {"tags": {"terms": {"field": "hashtags", "size": 10_000}}},
            }

        body = {
            "size": 0,
            "query": {"bool": {"filter": [{"term": {"protected": False}}]}},
            "aggs": {"recent": window(hour_ago, lte=end), "previous": window(start, lt=hour_ago)},
        }
        async with es_errors("trending"):
            found = await self._reader.search(index=self._alias, body=body)
        aggs = found["aggregations"]
        recent = {b["key"]: b["doc_count"] for b in aggs["recent"]["tags"]["buckets"]}
        previous = {b["key"]: b["doc_count"] for b in aggs["previous"]["tags"]["buckets"]}
        ranked = sorted(
            recent,
            key=lambda tag: (
                -recent[tag] / (1 + previous.get(tag, 0) / PREVIOUS_WINDOW_HOURS),
                -recent[tag],
                tag,
            ),
        )
        return [Trend(tag, recent[tag], previous.get(tag, 0)) for tag in ranked[:limit]]


async def open_search_index(url: str, resources: Resources) -> ElasticsearchSearchIndex:
    server, alias = parse_url(url)
    users_alias = users_alias_of(url)

    async def connect() -> AsyncElasticsearch:
        return _client(server)

    async def close(client: AsyncElasticsearch) -> None:
        await client.close()

    client: AsyncElasticsearch = await resources.shared(f"elasticsearch:{server}", connect, close)
    async with es_errors("open"):
        for needed in (alias, users_alias):
            if not await client.indices.exists_alias(name=needed):
                raise StorageError(f"search alias {needed!r} is missing: run `chirp migrate` first")
    return ElasticsearchSearchIndex(client, alias, users_alias)


async def migrate(url: str) -> list[str]:
    server, alias = parse_url(url)
    client = _client(server)
    try:
        replicas = replicas_of(url)
        applied = await ensure_index(client, alias, MAPPING_VERSION, MAPPINGS, replicas)
        users_alias = users_alias_of(url)
        return applied + await ensure_index(
            client, users_alias, USERS_MAPPING_VERSION, USER_MAPPINGS, replicas
        )
    finally:
        await client.close()


async def ensure_index(
    client: AsyncElasticsearch,
    alias: str,
    version: int,
    mappings: dict[str, Any],
    replicas: int | None = None,
) -> list[str]:
    """The alias on `<alias>-v<version>` (with `replicas` replicas, when given); moving it
    from an older index copies its documents first, then swaps the alias in one atomic
    step."""
    target = f"{alias}-v{version}"
    settings = {} if replicas is None else {"number_of_replicas": replicas}
    async with es_errors("migrate"):
        current: list[str] = []
        with suppress(NotFoundError):
            current = list((await client.indices.get_alias(name=alias)).keys())
        if current == [target]:
            if settings:
                await client.indices.put_settings(index=target, settings=settings)
            return []
        if not await client.indices.exists(index=target):
            try:
                await client.indices.create(index=target, mappings=mappings, settings=settings)
            except BadRequestError as error:
                # Another `chirp migrate` (or server start) created it in between: the same.
                if error.error != "resource_already_exists_exception":
                    raise
        for old in current:
            await _copy(client, old, target)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": old, "alias": alias}} for old in current
        ]
        actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
        await client.indices.update_aliases(actions=actions)
        for old in current:  # writes that reached the old index during the copy
            await _copy(client, old, target)
    return [target]


async def _copy(client: AsyncElasticsearch, source: str, target: str) -> None:
    await client.indices.refresh(index=source)  # writes not yet refreshed are copied too

    async def actions() -> AsyncIterator[dict[str, Any]]:
        async for hit in async_scan(client, index=source, query={"query": {"match_all": {}}}):
            yield {
                "_op_type": "index",
                "_index": target,
                "_id": hit["_id"],
                "_source": hit["_source"],
            }

    await async_bulk(client, actions(), refresh="wait_for")
