"""Live timeline events."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.tweet import Tweet


@strawberry.enum
class TimelineEventType(Enum):
    ADDED = "ADDED"
    DELETED = "DELETED"


@strawberry.type(description="A change to the viewer's home timeline.")
class TimelineEvent:
    type: TimelineEventType
    tweet_id: strawberry.ID
    tweet: Tweet | None = strawberry.field(description="The tweet, for ADDED; null for DELETED.")
    cursor: str | None = strawberry.field(
        description="Where the tweet sits in homeTimeline; resubscribe with after: this."
    )
