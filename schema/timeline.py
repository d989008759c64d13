"""Cursor connections of tweets."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from app.cursors import position_cursor
from app.errors import BadInput
from loaders.pages import TweetPage
from loaders.prefetch import node_fields, prefetch

if TYPE_CHECKING:
    from schema.tweet import Tweet

DEFAULT_PAGE = 20
MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class TimelineEdge:
    cursor: str
    node: Annotated[Tweet, strawberry.lazy("schema.tweet")]


@strawberry.type(description="A page of tweets, newest first.")
class Timeline:
    edges: list[TimelineEdge]
    page_info: PageInfo

    @classmethod
    async def build(cls, info: Any, page: TweetPage) -> Timeline:
        """The page's tweets with what the query selects on them prefetched in batches; the
        viewer's views of them recorded at the same time (app/views.py: a cache call), if
        the query asks for the tweets at all (`edges { node }`)."""
        from schema.tweet import Tweet

        wanted = node_fields(info.selected_fields)
        tweets = [tweet for _, tweet in page.items]
        shown = [tweet.id for tweet in tweets] if wanted else []
        context = info.context
        extras, _ = await asyncio.gather(
            prefetch(context.loaders, tweets, wanted),
            context.chirp.views.seen(context.viewer_id, shown),
        )
        edges = [
            TimelineEdge(cursor=position_cursor(pos), node=Tweet.from_record(tweet, extras))
            for pos, tweet in page.items
        ]
        end = position_cursor(page.end) if page.end is not None else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=end))

    @classmethod
    def empty(cls) -> Timeline:
        return cls(edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None))


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be between 1 and {MAX_PAGE}.", argument="first")
    return first
