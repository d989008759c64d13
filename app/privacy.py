"""Who may see what. A protected account's tweets reach only its author and its approved
followers, on every read path; every path asks here."""

from __future__ import annotations

from storage.records import UserRecord


def may_see_author(viewer_id: int | None, author: UserRecord, viewer_follows_author: bool) -> bool:
    if not author.protected:
        return True
    return viewer_id is not None and (viewer_id == author.id or viewer_follows_author)


def needs_follow_check(viewer_id: int | None, author: UserRecord) -> bool:
    return author.protected and viewer_id is not None and viewer_id != author.id
