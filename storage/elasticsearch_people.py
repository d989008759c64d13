"""People search on Elasticsearch: the users index's mapping and queries (the adapter in
storage/elasticsearch.py sends them; the `chirp-users` alias over a versioned index, made
by `chirp migrate` like the tweets').

The Elasticsearch here has no analysis-common module, so there is no `lowercase` normalizer,
no `asciifolding` and no `edge_ngram`, and no painless for a script sort. The mapping copes
with core features only:

- `username` is a `keyword` that Chirp lowercases itself: a `prefix` query is the
  typeahead, a `term` query the exact match;
- `display_name` and `bio` are `text` with the core `standard` analyzer, holding the words
  Chirp folds (case, accents) and splits (storage/search_text.py, shared with SQLite); the
  query is folded and split the same way. A display name matches with `match_bool_prefix`
  (every word, the last as a prefix: typeahead without edge n-grams), a bio with `match`;
- ranking sorts on `_score`, which is 1 for the exact username and 0 otherwise (a
  `constant_score` clause beside filters), then `followers_count`, then `user_id`; pages
  continue with `search_after` on those three values;
- a suspension is kept as its end (`suspended_until`), filtered against now at query time,
  so an account comes back by itself when its suspension ends.
"""

from __future__ import annotations

from typing import Any

from storage.records import UserDocument, UserHit, UserSearchQuery, ms_from_utc, utcnow
from storage.search_text import name_words, people_terms

USERS_MAPPING_VERSION = 1
DEFAULT_USERS_ALIAS = "chirp-users"
USER_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "user_id": {"type": "long"},
        "username": {"type": "keyword"},
        "display_name": {"type": "text", "analyzer": "standard"},
        "bio": {"type": "text", "analyzer": "standard"},
        "followers_count": {"type": "long"},
        "suspended_until": {"type": "date", "format": "epoch_millis"},
    },
}


def user_source(document: UserDocument) -> dict[str, Any]:
    suspended = document.suspended_until
    return {
        "user_id": document.user_id,
        "username": document.username.lower(),
        "display_name": " ".join(name_words(document.display_name)),
        "bio": " ".join(name_words(document.bio)),
        "followers_count": max(0, document.followers_count),
        "suspended_until": 0 if suspended is None else ms_from_utc(suspended),
    }


def people_body(query: UserSearchQuery, limit: int, after: UserHit | None) -> dict[str, Any] | None:
    """The search request, or None when the query can match nothing."""
    terms = people_terms(query.text)
    if terms.empty or limit <= 0:
        return None
    matches: list[dict[str, Any]] = []
    ranked: list[dict[str, Any]] = []
    if terms.username is not None:
        matches.append({"prefix": {"username": terms.username}})
        exact = {"term": {"username": terms.username}}
        ranked.append({"constant_score": {"filter": exact, "boost": 1.0}})
    if terms.words:
        text = " ".join(terms.words)
        matches.append({"match_bool_prefix": {"display_name": {"query": text, "operator": "and"}}})
        matches.append({"match": {"bio": {"query": text, "operator": "and"}}})
    filters: list[dict[str, Any]] = [
        {"bool": {"should": matches, "minimum_should_match": 1}},
        {"range": {"suspended_until": {"lte": ms_from_utc(utcnow())}}},
    ]
    bool_query: dict[str, Any] = {"filter": filters, "should": ranked}
    if query.excluded_ids:
        bool_query["must_not"] = [{"terms": {"user_id": list(query.excluded_ids)}}]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "sort": [{"_score": "desc"}, {"followers_count": "desc"}, {"user_id": "asc"}],
        "size": limit,
        "_source": False,
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = [1.0 if after.exact else 0.0, after.followers_count, after.user_id]
    return body


def user_hits(found: Any) -> list[UserHit]:
    """The hits of a search response (a mapping), from their sort values."""
    return [
        UserHit(int(hit["sort"][2]), float(hit["sort"][0]) > 0.5, int(hit["sort"][1]))
        for hit in found["hits"]["hits"]
    ]
