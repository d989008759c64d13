"""People search on SQLite: FTS5 for display names and bios, a b-tree for usernames.

Names and bios are stored as the words Chirp folds and splits (storage/search_text.py), the
same words the Elasticsearch adapter indexes, so both engines match alike. A display name
matches when it has every word of the query, the last as an FTS5 prefix (`"lov" *`); a bio
when it has every word whole. A username matches when it starts with the query: a range
scan of the lowercased usernames' index, since FTS5 would split a username at '_'.
Ranking is (exact username, followers, id), the order of UserHit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from storage.records import UserDocument, UserHit, UserSearchQuery, ms_from_utc, utcnow
from storage.search_text import PeopleTerms, name_words, people_terms
from storage.sqlite.database import SqliteDatabase, Tx, chunked, placeholders

_EXACT = "(d.username IS :name)"  # 0 or 1, also when the query cannot be a username
_AFTER = (
    f"({_EXACT} < :exact OR ({_EXACT} = :exact AND (d.followers_count < :followers "
    "OR (d.followers_count = :followers AND d.user_id > :user_id))))"
)


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_expression(terms: PeopleTerms) -> str | None:
    """The FTS5 query for the words: a display name with every word (the last as a prefix),
    or a bio with every word. None when there are no words."""
    if not terms.words:
        return None
    quoted = [_quoted(word) for word in terms.words]
    typed = " AND ".join([*quoted[:-1], f"{quoted[-1]} *"])
    return f"display_name : ({typed}) OR bio : ({' AND '.join(quoted)})"


def _username_range(prefix: str) -> tuple[str, str]:
    """[prefix, end): every lowercase username that starts with `prefix` (ASCII only)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


async def index_users(db: SqliteDatabase, documents: Sequence[UserDocument]) -> None:
    latest = {document.user_id: document for document in documents}
    if not latest:
        return
    async with db.write() as tx:
        await _delete(tx, list(latest))
        for document in latest.values():
            await _insert(tx, document)


async def remove_users(db: SqliteDatabase, user_ids: Sequence[int]) -> None:
    if user_ids:
        async with db.write() as tx:
            await _delete(tx, list(dict.fromkeys(user_ids)))


async def search_users(
    db: SqliteDatabase, query: UserSearchQuery, limit: int, after: UserHit | None
) -> list[UserHit]:
    terms = people_terms(query.text)
    if terms.empty or limit <= 0:
        return []
    params: dict[str, Any] = {
        "name": terms.username,
        "now": ms_from_utc(utcnow()),
        "limit": limit,
    }
    matches = []
    if terms.username is not None:
        params["low"], params["high"] = _username_range(terms.username)
        matches.append("(d.username >= :low AND d.username < :high)")
    match = match_expression(terms)
    if match is not None:
        params["match"] = match
        matches.append(
            "d.user_id IN (SELECT rowid FROM user_search_text WHERE user_search_text MATCH :match)"
        )
    where = [f"({' OR '.join(matches)})", "d.suspended_until <= :now"]
    if query.excluded_ids:
        # One JSON parameter, however many accounts (no bound-variable limit).
        where.append("d.user_id NOT IN (SELECT value FROM json_each(:excluded))")
        params["excluded"] = json.dumps(list(query.excluded_ids))
    if after is not None:
        where.append(_AFTER)
        params.update(exact=int(after.exact), followers=after.followers_count)
        params["user_id"] = after.user_id
    sql = (
        f"SELECT d.user_id, {_EXACT} AS exact, d.followers_count FROM user_search_documents d "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY exact DESC, d.followers_count DESC, d.user_id LIMIT :limit"
    )
    async with db.read() as tx:
        rows = await tx.rows(sql, params)
    return [UserHit(row["user_id"], bool(row["exact"]), row["followers_count"]) for row in rows]


async def _delete(tx: Tx, user_ids: Sequence[int]) -> None:
    for chunk in chunked(user_ids):
        marks = placeholders(len(chunk))
        await tx.run(f"DELETE FROM user_search_text WHERE rowid IN ({marks})", chunk)
        await tx.run(f"DELETE FROM user_search_documents WHERE user_id IN ({marks})", chunk)


async def _insert(tx: Tx, document: UserDocument) -> None:
    suspended = document.suspended_until
    await tx.run(
        "INSERT INTO user_search_text (rowid, display_name, bio) VALUES (?, ?, ?)",
        (
            document.user_id,
            " ".join(name_words(document.display_name)),
            " ".join(name_words(document.bio)),
        ),
    )
    await tx.run(
        "INSERT INTO user_search_documents (user_id, username, followers_count, "
        "suspended_until) VALUES (?, ?, ?, ?)",
        (
            document.user_id,
            document.username.lower(),
            max(0, document.followers_count),
            0 if suspended is None else ms_from_utc(suspended),
        ),
    )
