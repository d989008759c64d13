"""How search text is folded and split into words: one definition for the index adapters
(Elasticsearch has no analysis-common module here, so Chirp folds accents itself) and for
matching a tweet in the app (a viewer's own tweets not yet searchable)."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lowercase without accents: 'Crème' -> 'creme'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return _WORD.findall(fold(text))
