"""The search box's syntax: words, "quoted phrases", #hashtags, from:username,
since:YYYY-MM-DD and until:YYYY-MM-DD (until is exclusive, as on Twitter)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.errors import BadInput
from app.text import checked
from storage.records import SearchQuery, TweetRecord
from storage.search_text import words

MAX_QUERY_LENGTH = 500
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


@dataclass
class ParsedSearch:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    from_usernames: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.words or self.phrases or self.hashtags or self.from_usernames)


def parse_search(text: str) -> ParsedSearch:
    if len(text) > MAX_QUERY_LENGTH:
        raise BadInput(f"A search is at most {MAX_QUERY_LENGTH} characters.", argument="query")
    checked(text, "query", multiline=True, kind="argument")  # a pasted tab or newline is a space
    parsed = ParsedSearch()
    for phrase, token in _TOKEN.findall(text):
        if phrase:
            parsed.phrases.append(phrase)
        elif token.startswith("#") and len(token) > 1:
            parsed.hashtags.append(token[1:].casefold())
        elif token.lower().startswith("from:") and len(token) > 5:
            parsed.from_usernames.append(token[5:].lstrip("@"))
        elif token.lower().startswith("since:"):
            parsed.since = _date(token[6:], "since")
        elif token.lower().startswith("until:"):
            parsed.until = _date(token[6:], "until")
        elif token:
            parsed.words.append(token)
    if parsed.empty:
        raise BadInput("Search for some words, a #hashtag or from:username.", argument="query")
    return parsed


def _date(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadInput(f"{name}: takes a date like 2026-01-31.", argument="query") from None


def matches(query: SearchQuery, tweet: TweetRecord) -> bool:
    """Whether the index would find this tweet for this query: every word and phrase among
    its folded words (a phrase in order), every hashtag, the author and the dates."""
    text = words(tweet.text)
    present = set(text)
    if any(not set(words(word)) <= present for word in query.words):
        return False
    if any(not _contains(text, words(phrase)) for phrase in query.phrases):
        return False
    if not set(query.hashtags) <= {tag.casefold() for tag in tweet.hashtags}:
        return False
    if query.author_ids and tweet.user_id not in query.author_ids:
        return False
    if query.since is not None and tweet.created_at < query.since:
        return False
    return query.until is None or tweet.created_at < query.until


def _contains(text: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(text[i : i + size] == phrase for i in range(len(text) - size + 1))
