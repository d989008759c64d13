"""Engagement lists: who liked or retweeted a tweet (accounts, the most recent first), the
tweets quoting it and the viewer's bookmarks (tweets, newest first).

Each is read through the policy (loaders/engagement.py, loaders/pages.py): accounts blocked
either way or suspended are not listed; a quote or a bookmarked tweet the viewer may not
see (deleted, blocked, protected from them, suspended author) is left out. Mutes do not
apply: these are lists reached from a tweet or from one's own account, not feeds."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import decode_position, position_cursor
from loaders.engagement import AccountPage, EdgeListing, TweetListing, account_page, keyed
from schema.timeline import CURSOR, PageInfo, Timeline, page_size
from storage.records import UserRecord

if TYPE_CHECKING:
    from schema.tweet import Tweet
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]


@strawberry.type(description="An account that liked or retweeted a tweet, with when.")
class EngagerEdge:
    cursor: str = strawberry.field(description=CURSOR)
    at: datetime = strawberry.field(description="When they liked or retweeted it.")
    user: strawberry.Private[UserRecord]

    @strawberry.field(description="The account.")
    def node(self) -> UserRef:
        from schema.user import User

        return User.from_record(self.user)


@strawberry.type(description="Accounts that liked or retweeted a tweet, the most recent first.")
class EngagerConnection:
    edges: list[EngagerEdge] = strawberry.field(
        description="The accounts of this page; those blocked either way with the viewer, "
        "suspended or deleted are left out."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def from_page(cls, page: AccountPage) -> EngagerConnection:
        edges = [
            EngagerEdge(cursor=position_cursor(edge.position), at=edge.at, user=user)
            for edge, user in page.edges
        ]
        end = position_cursor(page.end) if page.end is not None else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=end))


async def engagers(
    info: Info, listing: EdgeListing, tweet_id: int, first: int, after: str | None
) -> EngagerConnection:
    """A page of a tweet's likers or retweeters (`listing`: the store's page method)."""
    size, position = page_size(first), decode_position(after)
    loaders = info.context.loaders
    page = await account_page(listing, tweet_id, size, position, loaders.user_by_id, loaders.policy)
    return EngagerConnection.from_page(page)


async def tweets_listed(
    info: Info, listing: TweetListing, key: int, first: int, after: str | None
) -> Timeline:
    """A page of tweets from a store's listing (a tweet's quotes, a user's bookmarks)."""
    size, position = page_size(first), decode_position(after)
    page = await info.context.loaders.pages.listing(keyed(listing, key), size, position)
    return await Timeline.build(info, page)


async def pinned_tweet(info: Info, user: UserRecord) -> Tweet | None:
    """The user's pinned tweet if the viewer may see it (through the visible loader)."""
    from schema.tweet import Tweet

    if user.pinned_tweet_id is None:
        return None
    tweet = await info.context.loaders.visible_tweet_by_id.load(user.pinned_tweet_id)
    if tweet is None or tweet.user_id != user.id:
        return None
    return Tweet.from_record(tweet)
