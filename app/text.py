"""Tweet text: NFC normalization, length in code points, hashtags and mentions."""

from __future__ import annotations

import re
import unicodedata

MAX_TWEET_LENGTH = 280
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
