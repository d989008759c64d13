"""Listing: a table of one key's entries read newest first by (time, id), as the engagement
adapters page them (likers, retweeters, quotes, bookmarks), whatever the engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listing:
    """The table, its key column, its (time, id) order, and the columns a page selects (as
    `at` and the names the record wants)."""

    table: str
    key: str
    time: str
    id: str
    columns: str
