"""Text that comes in: the rules every text field follows (no control characters, http(s)
URLs, language tags, bounded JSON objects), and tweet text: NFC normalization, length in
code points, hashtags and mentions."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from app.errors import BadInput

MAX_TWEET_LENGTH = 280
# C0 controls and DEL: NUL and the like are never text; a field that allows several lines
# allows \n and \t (a \r\n or lone \r from the client becomes \n first).
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_BUT_LINES_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# BCP 47's shape: a 2-8 letter language, then subtags of 1-8 letters or digits.
LANGUAGE_TAG_RE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
MAX_JSON_DEPTH = 8
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
EMAIL_RE = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
# A hashtag or mention starts at the beginning or after a character that cannot be part of one.
HASHTAG_RE = re.compile(r"(?<![\w#&])[#\uff03](\w{1,100})")  # also the full-width sign
MENTION_RE = re.compile(r"(?<![\w@])[@\uff20]([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_@])")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def length(text: str) -> int:
    return len(normalize(text))


def hashtag_of(tag: str, argument: str = "tag") -> str:
    """A hashtag argument (`#tea` or `tea`) as tweets' hashtags are stored, or BadInput."""
    body = tag[1:] if tag[:1] in ("#", "\uff03") else tag
    if not re.fullmatch(r"\w{1,100}", body) or body.isdigit():
        raise BadInput(
            "A hashtag is 1 to 100 letters, digits or underscores, not only digits.",
            argument=argument,
        )
    return body.casefold()


def hashtags(text: str) -> tuple[str, ...]:
    """Lowercased without '#', in order of first use, once each; all-digit tags are not tags."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text):
        tag = match.group(1).casefold()
        if not tag.isdigit():
            seen.setdefault(tag, None)
    return tuple(seen)


def mentioned_usernames(text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text):
        seen.setdefault(match.group(1).casefold(), None)
    return tuple(seen)


def checked(
    value: str,
    name: str,
    *,
    multiline: bool = False,
    max_length: int | None = None,
    kind: str = "field",
) -> str:
    """`value` if it may be stored as the text of field (or argument, by `kind`) `name`;
    BAD_USER_INPUT naming it otherwise. Every text that comes in passes through here."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if (CONTROL_BUT_LINES_RE if multiline else CONTROL_RE).search(value):
        allowed = " other than newlines and tabs" if multiline else ""
        raise BadInput(f"{name} cannot contain control characters{allowed}.", **{kind: name})
    if max_length is not None and len(value) > max_length:
        raise BadInput(f"{name} is at most {max_length} characters.", **{kind: name})
    return value


def http_url(value: str, name: str, max_length: int) -> str:
    """An absolute http:// or https:// URL with a host (no javascript:, data:, file: ...)."""
    value = checked(value, name, max_length=max_length)
    try:
        parts = urlsplit(value)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError:
        valid = False
    if not valid or any(char.isspace() for char in value):
        raise BadInput(f"{name} must be an http:// or https:// URL.", field=name)
    return value


def language_tag(value: str, name: str, max_length: int) -> str:
    value = checked(value, name, max_length=max_length)
    if not LANGUAGE_TAG_RE.fullmatch(value):
        raise BadInput(f"{name} must be a language tag such as en or pt-BR.", field=name)
    return value


def json_object(value: Any, name: str, max_bytes: int) -> dict[str, Any]:
    """A JSON object of at most `max_bytes` (UTF-8, compact) and MAX_JSON_DEPTH levels,
    whose keys and strings follow the text rules."""
    if not isinstance(value, Mapping):
        raise BadInput(f"{name} must be a JSON object.", field=name)
    pending: list[tuple[Any, int]] = [(value, 1)]  # a loop, not recursion: depth is untrusted
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadInput(f"{name} nests at most {MAX_JSON_DEPTH} levels.", field=name)
        if isinstance(item, Mapping):
            for key, inner in item.items():
                checked(str(key), name)
                pending.append((inner, depth + 1))
        elif isinstance(item, list):
            pending.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            checked(item, name, multiline=True)
        elif isinstance(item, float) and not math.isfinite(item):  # not JSON, though parsed
            raise BadInput(f"{name} holds a number JSON cannot: {item}.", field=name)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_bytes:
        raise BadInput(f"{name} is at most {max_bytes} bytes of JSON.", field=name)
    return dict(value)
