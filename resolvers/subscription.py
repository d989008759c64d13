"""Subscriptions: the viewer's home timeline and notifications, live, with what was missed
replayed first."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

import strawberry

from app import notifications
from app.context import Context
from app.cursors import decode_notification_cursor, decode_position, position_cursor
from app.live import LiveEvent, LiveEventType, subscription_channels
from schema.events import TimelineEvent, TimelineEventType
from schema.node import to_global_id
from schema.notification import NotificationEvent, NotificationEventType, edge, visible
from schema.tweet import Tweet
from storage.records import NotificationGroup

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


@strawberry.type(
    description="Live events over a websocket on /graphql (graphql-transport-ws), with the "
    "access token as `token` in connection_init's payload; at most 5 at once per connection "
    "by default. Each needs a logged-in viewer, and sends nothing more than an UNAUTHENTICATED "
    "error once the session ends."
)
class Subscription:
    @strawberry.subscription(
        description="ADDED when a tweet lands in the viewer's home timeline, DELETED when one "
        "in it is deleted. With `after`, first replays what came after that cursor."
    )
    async def home_timeline(
        self,
        info: Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A cursor from homeTimeline or an earlier event: the newest tweets "
                f"after it (up to {REPLAY_LIMIT}) are replayed first."
            ),
        ] = None,
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

    @strawberry.subscription(
        description="UPDATED when a notification is new or grows, REMOVED when one is "
        "withdrawn. With `after` (a notification's cursor), first replays what is newer."
    )
    async def notifications(
        self,
        info: Info,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="A notification's cursor: the newest notifications after it (up "
                f"to {REPLAY_LIMIT}) are replayed first."
            ),
        ] = None,
    ) -> AsyncGenerator[NotificationEvent, None]:
        viewer = info.context.require_viewer()
        resume_after = decode_notification_cursor(after, viewer)
        store = info.context.chirp.stores.notifications
        events = info.context.chirp.stores.events
        async with events.subscribe([notifications.channel(viewer)]) as stream:
            sent: dict[int, tuple[object, int]] = {}  # group id -> (latest_at, count) sent
            if resume_after is not None:
                await info.context.require_live_session()
                stored = await store.page(viewer, REPLAY_LIMIT)
                missed = [g for g in reversed(stored) if g.position > resume_after]
                for group in await visible(info, missed):
                    sent[group.id] = (group.latest_at, group.count)
                    yield await _updated(info, group)
            async for message in stream:
                await info.context.require_live_session()  # no events after logOut
                group = notifications.decode(message.data)
                if group.count == 0:
                    sent.pop(group.id, None)
                    yield NotificationEvent(
                        type=NotificationEventType.REMOVED,
                        notification_id=to_global_id("Notification", group.id),
                        notification=None,
                        cursor=None,
                    )
                    continue
                if sent.get(group.id) == (group.latest_at, group.count):
                    continue  # the replay had it already
                info.context.reset_loaders()  # each event reads fresh
                shown = await visible(info, [group])
                if shown:
                    sent[group.id] = (group.latest_at, group.count)
                    yield await _updated(info, shown[0])


async def _updated(info: Info, group: NotificationGroup) -> NotificationEvent:
    marker = await info.context.chirp.stores.notifications.read_marker(group.recipient_id)
    shown = edge(group, marker)
    return NotificationEvent(
        type=NotificationEventType.UPDATED,
        notification_id=shown.node.id,
        notification=shown.node,
        cursor=shown.cursor,
    )
