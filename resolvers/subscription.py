"""Subscriptions: the viewer's home timeline, live, with what was missed replayed first."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from app.context import Context
from app.cursors import decode_position, position_cursor
from app.live import LiveEvent, LiveEventType, subscription_channels
from schema.events import TimelineEvent, TimelineEventType
from schema.node import to_global_id
from schema.tweet import Tweet

Info = strawberry.Info[Context, None]
REPLAY_LIMIT = 100


def _added(tweet: Any) -> TimelineEvent:
    return TimelineEvent(
        type=TimelineEventType.ADDED,
        tweet_id=to_global_id("Tweet", tweet.id),
        tweet=Tweet.from_record(tweet),
        cursor=position_cursor((tweet.created_at, tweet.id)),
    )


async def _missed(info: Info, after: Any) -> list[Any]:
    """Home timeline tweets newer than `after`, oldest first."""
    page = await info.context.loaders.pages.home(REPLAY_LIMIT, None)
    return [tweet for position, tweet in reversed(page.items) if position > after]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="ADDED when a tweet lands in the viewer's home timeline, DELETED when one "
        "in it is deleted. With `after`, first replays what came after that cursor."
    )
    async def home_timeline(
        self, info: Info, after: str | None = None
    ) -> AsyncGenerator[TimelineEvent, None]:
        viewer = info.context.require_viewer()
        resume_after = decode_position(after)
        events = info.context.chirp.stores.events
        celebrities = await info.context.loaders.pages.followed_celebrities()
        async with events.subscribe(subscription_channels(viewer, celebrities)) as stream:
            replayed: set[int] = set()
            if resume_after is not None:
                await info.context.require_live_session()
                for tweet in await _missed(info, resume_after):
                    replayed.add(tweet.id)
                    yield _added(tweet)
            async for message in stream:
                await info.context.require_live_session()  # no events after logOut
                event = LiveEvent.decode(message.data)
                tweet_id = event.tweet_id
                if event.type is LiveEventType.DELETED:
                    yield TimelineEvent(
                        type=TimelineEventType.DELETED,
                        tweet_id=to_global_id("Tweet", tweet_id),
                        tweet=None,
                        cursor=None,
                    )
                    continue
                if tweet_id in replayed:
                    continue
                info.context.reset_loaders()  # each event reads fresh, not the first event's data
                loaders = info.context.loaders
                visible = await loaders.visible_tweet_by_id.load(tweet_id)
                if visible is not None and not await loaders.pages.muted(visible):
                    yield _added(visible)
