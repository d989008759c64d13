"""Live timeline events."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.enum_values import described
from schema.tweet import Tweet


@strawberry.enum(description="What happened to the viewer's home timeline.")
class TimelineEventType(Enum):
    ADDED = described("ADDED", description="A tweet arrived: `tweet` and `cursor` are set.")
    DELETED = described(
        "DELETED",
        description="A tweet in it was deleted: drop `tweetId`; `tweet` and `cursor` are null.",
    )


@strawberry.type(description="A change to the viewer's home timeline.")
class TimelineEvent:
    type: TimelineEventType = strawberry.field(description="ADDED or DELETED.")
    tweet_id: strawberry.ID = strawberry.field(
        description="The global id of the tweet added or deleted."
    )
    tweet: Tweet | None = strawberry.field(description="The tweet, for ADDED; null for DELETED.")
    cursor: str | None = strawberry.field(
        description="Where the tweet sits in homeTimeline; resubscribe with after: this."
    )
