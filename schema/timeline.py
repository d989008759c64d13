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

# The paging arguments every connection takes, described once.
First = Annotated[
    int,
    strawberry.argument(
        description=f"How many to return: 1 to {MAX_PAGE} (BAD_USER_INPUT otherwise)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Return what comes after this cursor: an edge's `cursor` or "
        "`pageInfo.endCursor` from this same field; null for the first page."
    ),
]
CURSOR = "Opaque; pass it as `after` to get what follows this edge."


@strawberry.type(
    description="Where a page ends. A page may hold fewer edges than asked for (what the "
    "viewer may not see is skipped) and still have more after it: follow `hasNextPage`."
)
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more follows this page.")
    end_cursor: str | None = strawberry.field(
        description="Pass it as `after` for the next page; null when there is nothing to "
        "go on from."
    )


@strawberry.type(description="A tweet in a timeline, with its cursor.")
class TimelineEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: Annotated[Tweet, strawberry.lazy("schema.tweet")] = strawberry.field(
        description="The tweet."
    )


@strawberry.type(description="A page of tweets, newest first.")
class Timeline:
    edges: list[TimelineEdge] = strawberry.field(description="The tweets of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

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
