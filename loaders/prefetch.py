"""Connection-level prefetch: a page of tweets loads what its selection asks for (counts,
the viewer's likes and retweets, authors) in one batch per kind, so the per-tweet fields
are plain lookups instead of one awaited loader call each. Python's per-field execution is
the cost of a cached timeline page (DESIGN.md, "Performance"); this is how it is kept low."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from storage.records import TweetCounts, TweetRecord, UserRecord

COUNT_FIELDS = frozenset({"likeCount", "retweetCount", "replyCount", "viewCount"})


@dataclass
class TweetExtras:
    """What a page prefetched, shared by its tweets; None where it was not asked for."""

    counts: dict[int, TweetCounts] | None = None
    liked: dict[int, bool] | None = None
    retweeted: dict[int, bool] | None = None
    authors: dict[int, UserRecord | None] | None = None


def _flatten(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _flatten(selection.selections)


def node_fields(selected: Iterable[Selection]) -> set[str]:
    """Names of the fields selected on `edges { node { ... } }` of a connection."""
    names: set[str] = set()
    for connection in _flatten(selected):
        for edges in _flatten(connection.selections):
            if edges.name != "edges":
                continue
            for node in _flatten(edges.selections):
                if node.name == "node":
                    names.update(f.name for f in _flatten(node.selections))
    return names


async def prefetch(loaders: Any, tweets: list[TweetRecord], wanted: set[str]) -> TweetExtras:
    extras = TweetExtras()
    if not tweets:
        return extras
    pending: dict[str, Awaitable[Any]] = {}
    ids = [tweet.id for tweet in tweets]
    if wanted & COUNT_FIELDS:
        pending["counts"] = loaders.tweet_counts_by_id.load_many(ids)
    if "viewerHasLiked" in wanted and loaders.liked_by_viewer is not None:
        pending["liked"] = loaders.liked_by_viewer.load_many(ids)
    if "viewerHasRetweeted" in wanted and loaders.retweeted_by_viewer is not None:
        pending["retweeted"] = loaders.retweeted_by_viewer.load_many(ids)
    author_ids = list(dict.fromkeys(tweet.user_id for tweet in tweets))
    if "author" in wanted:
        pending["authors"] = loaders.user_by_id.load_many(author_ids)
    # All kinds at once: the loaders batch them in the same tick.
    results = dict(zip(pending, await asyncio.gather(*pending.values()), strict=True))
    if "counts" in results:
        extras.counts = dict(zip(ids, results["counts"], strict=True))
    if "liked" in results:
        extras.liked = dict(zip(ids, results["liked"], strict=True))
    if "retweeted" in results:
        extras.retweeted = dict(zip(ids, results["retweeted"], strict=True))
    if "authors" in results:
        extras.authors = dict(zip(author_ids, results["authors"], strict=True))
    return extras
