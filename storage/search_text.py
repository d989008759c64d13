"""How search text is folded and split into words: one definition for the index adapters
(Elasticsearch has no analysis-common module here, so Chirp folds accents itself), for
matching a tweet in the app (a viewer's own tweets not yet searchable), and for people
search's names, bios and queries."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lowercase without accents: 'Crème' -> 'creme'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return _WORD.findall(fold(text))


# People search splits names and bios into runs of letters and digits ('ada_lovelace' is two
# words), the same way for the text indexed and for the query, so both engines agree; a
# username is matched whole, as a prefix, so it keeps its underscores.
_NAME_WORD = re.compile(r"[^\W_]+")
_USERNAME_PREFIX = re.compile(r"[a-z0-9_]{1,15}")


def name_words(text: str) -> list[str]:
    """The folded words of a display name, a bio or a people query: 'Ada_Lovélace' ->
    ['ada', 'lovelace']."""
    return _NAME_WORD.findall(fold(text))


@dataclass(frozen=True)
class PeopleTerms:
    """A people query as the indexes match it."""

    username: str | None  # what a username must start with (lowercase), if it can be one
    words: tuple[str, ...]  # every one must match; in display names the last is a prefix

    @property
    def empty(self) -> bool:
        return self.username is None and not self.words


def people_terms(text: str) -> PeopleTerms:
    folded = fold(text).strip()
    name = folded[1:] if folded.startswith("@") else folded
    username = name if _USERNAME_PREFIX.fullmatch(name) else None
    return PeopleTerms(username, tuple(name_words(text)))
