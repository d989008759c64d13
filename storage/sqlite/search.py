"""SqliteSearchIndex: FTS5 over tweet text, side tables for filters and trending hashtags.

search_text (FTS5, rowid = tweet id) answers words and phrases; search_documents holds
what filters need (author, time, protected); search_hashtags holds each tweet's tags,
lowercased without '#', with its time so trending is one range scan. People search is in
storage/sqlite/people.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.records import (
    SearchDocument,
    SearchQuery,
    Trend,
    UserDocument,
    UserHit,
    UserSearchQuery,
    ms_from_utc,
)
from storage.sqlite import people
from storage.sqlite.database import SqliteDatabase, Tx, chunked, placeholders

HOUR_MS = 3_600_000
_MATCHES = "d.tweet_id IN (SELECT rowid FROM search_text WHERE search_text MATCH ?)"
# Trending compares the last hour with the 24 hours before it.
PREVIOUS_WINDOW_HOURS = 24


def normalize_hashtag(tag: str) -> str:
    return tag.strip().lstrip("#").lower()


def _has_token(text: str) -> bool:
    # unicode61 makes tokens of letters and digits; anything else only separates them.
    return any(char.isalnum() for char in text)


def _phrase(text: str) -> str:
    """A double-quoted FTS5 string: inside it every character is literal text for the
    tokenizer (operators, '*', parentheses, column filters), and '"' is written twice."""
    return '"' + text.replace("\x00", "").replace('"', '""') + '"'


def match_expression(query: SearchQuery) -> str | None:
    """Every word and phrase must match. None when there is no text to match; "" when
    there was text but none of it can match anything (so the search finds nothing)."""
    terms = [*query.words, *query.phrases]
    if not terms:
        return None
    return " AND ".join(_phrase(term) for term in terms if _has_token(term))


def _filters(query: SearchQuery, before: int | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for tag in dict.fromkeys(normalize_hashtag(tag) for tag in query.hashtags):
        where.append(
            "EXISTS (SELECT 1 FROM search_hashtags h "
            "WHERE h.hashtag = ? AND h.tweet_id = d.tweet_id)"
        )
        params.append(tag)
    if query.author_ids:
        # One JSON parameter, however many authors (no bound-variable limit).
        where.append("d.author_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(query.author_ids)))
    if query.since is not None:
        where.append("d.created_at >= ?")
        params.append(ms_from_utc(query.since))
    if query.until is not None:
        where.append("d.created_at < ?")
        params.append(ms_from_utc(query.until))
    visible = [*query.visible_protected_authors]
    if query.viewer_id is not None:
        visible.append(query.viewer_id)
    where.append("(d.protected = 0 OR d.author_id IN (SELECT value FROM json_each(?)))")
    params.append(json.dumps(visible))
    if before is not None:
        where.append("d.tweet_id < ?")
        params.append(before)
    return where, params


class SqliteSearchIndex:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        """Re-indexing a tweet replaces what was indexed for it."""
        if not documents:
            return
        async with self._db.write() as tx:
            await _delete(tx, [document.tweet_id for document in documents])
            for document in {document.tweet_id: document for document in documents}.values():
                await _insert(tx, document)

    async def remove(self, tweet_ids: Sequence[int]) -> None:
        if tweet_ids:
            async with self._db.write() as tx:
                await _delete(tx, tweet_ids)

    async def refresh(self) -> None:
        """Nothing to do: a committed write is searchable at once."""

    async def ping(self) -> None:
        async with self._db.read() as tx:
            await tx.row("SELECT 1")

    async def search(self, query: SearchQuery, limit: int, before: int | None = None) -> list[int]:
        match = match_expression(query)
        if match == "" or limit <= 0:
            return []
        where, params = _filters(query, before)
        if match is not None:
            where.insert(0, _MATCHES)
            params.insert(0, match)
        sql = (
            f"SELECT d.tweet_id FROM search_documents d WHERE {' AND '.join(where)} "
            "ORDER BY d.tweet_id DESC LIMIT ?"
        )
        async with self._db.read() as tx:
            rows = await tx.rows(sql, [*params, limit])
        return [row["tweet_id"] for row in rows]

    async def trending(self, limit: int, now: datetime) -> list[Trend]:
        """Score = last hour / (1 + previous 24 hours' hourly mean): a tag used 50 times in
        the last hour beats one used 500 times yesterday. Protected tweets do not count."""
        end = ms_from_utc(now)
        hour_ago = end - HOUR_MS
        window_start = hour_ago - PREVIOUS_WINDOW_HOURS * HOUR_MS
        sql = (
            "SELECT hashtag, SUM(created_at >= :hour_ago) AS recent, "
            "SUM(created_at < :hour_ago) AS previous FROM search_hashtags "
            "WHERE created_at >= :start AND created_at <= :end AND protected = 0 "
            "GROUP BY hashtag HAVING recent >= 1 "
            "ORDER BY recent / (1.0 + previous / :hours) DESC, recent DESC, hashtag LIMIT :limit"
        )
        params = {
            "hour_ago": hour_ago,
            "start": window_start,
            "end": end,
            "hours": float(PREVIOUS_WINDOW_HOURS),
            "limit": limit,
        }
        async with self._db.read() as tx:
            rows = await tx.rows(sql, params)
        return [Trend(row["hashtag"], row["recent"], row["previous"]) for row in rows]

    async def index_users(self, documents: Sequence[UserDocument]) -> None:
        await people.index_users(self._db, documents)

    async def remove_users(self, user_ids: Sequence[int]) -> None:
        await people.remove_users(self._db, user_ids)

    async def search_users(
        self, query: UserSearchQuery, limit: int, after: UserHit | None = None
    ) -> list[UserHit]:
        return await people.search_users(self._db, query, limit, after)


async def _delete(tx: Tx, tweet_ids: Sequence[int]) -> None:
    for chunk in chunked(list(dict.fromkeys(tweet_ids))):
        marks = placeholders(len(chunk))
        await tx.run(f"DELETE FROM search_text WHERE rowid IN ({marks})", chunk)
        await tx.run(f"DELETE FROM search_documents WHERE tweet_id IN ({marks})", chunk)
        await tx.run(f"DELETE FROM search_hashtags WHERE tweet_id IN ({marks})", chunk)


async def _insert(tx: Tx, document: SearchDocument) -> None:
    created = ms_from_utc(document.created_at)
    await tx.run(
        "INSERT INTO search_text (rowid, text) VALUES (?, ?)", (document.tweet_id, document.text)
    )
    await tx.run(
        "INSERT INTO search_documents (tweet_id, author_id, created_at, protected, language) "
        "VALUES (?, ?, ?, ?, ?)",
        (document.tweet_id, document.author_id, created, document.protected, document.language),
    )
    tags = {normalize_hashtag(tag) for tag in document.hashtags} - {""}
    await tx.run_many(
        "INSERT INTO search_hashtags (hashtag, tweet_id, created_at, protected) "
        "VALUES (?, ?, ?, ?)",
        [(tag, document.tweet_id, created, document.protected) for tag in sorted(tags)],
    )
