"""Your deleted tweets in their grace period (`me.deletedTweets`), newest deletion first:
each with when it was deleted and from when it may be purged (then `restoreTweet` no longer
brings it back)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import decode_position, position_cursor
from app.services.deleted_tweets import DeletedTweetsPage
from schema.timeline import CURSOR, PageInfo, page_size
from storage.records import TweetRecord

if TYPE_CHECKING:
    from schema.tweet import Tweet

Info = strawberry.Info[Context, None]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.type(description="One of your deleted tweets, restorable until `purgeAt`.")
class DeletedTweet:
    deleted_at: datetime = strawberry.field(description="When you deleted it.")
    purge_at: datetime = strawberry.field(
        description="From then on the tweet may be removed for good and cannot be restored."
    )
    record: strawberry.Private[TweetRecord]

    @strawberry.field(description="The tweet as it was (only its author sees it here).")
    def tweet(self) -> TweetRef:
        from schema.tweet import Tweet

        return Tweet.from_record(self.record)


@strawberry.type(description="One of your deleted tweets, with its cursor.")
class DeletedTweetEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: DeletedTweet = strawberry.field(description="The deleted tweet.")


@strawberry.type(description="Your deleted tweets still restorable, newest deletion first.")
class DeletedTweetConnection:
    edges: list[DeletedTweetEdge] = strawberry.field(description="The deleted tweets of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def from_page(cls, page: DeletedTweetsPage) -> DeletedTweetConnection:
        edges = [
            DeletedTweetEdge(
                cursor=position_cursor(item.position),
                node=DeletedTweet(
                    deleted_at=item.deleted_at, purge_at=item.purge_at, record=item.tweet
                ),
            )
            for item in page.items
        ]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=end))


async def deleted_tweets(
    info: Info, owner_id: int, first: int, after: str | None
) -> DeletedTweetConnection:
    size, position = page_size(first), decode_position(after)
    page = await info.context.chirp.services.deleted_tweets(owner_id, size, position)
    return DeletedTweetConnection.from_page(page)
