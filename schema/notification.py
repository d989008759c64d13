"""Notifications: grouped, as a reader sees them (the read policy applied once more)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app import notifications
from app.context import Context
from app.cursors import notification_cursor
from schema.enum_values import described
from schema.node import to_global_id
from schema.timeline import PageInfo
from storage.notifications import is_read
from storage.ports import Position
from storage.records import NotificationGroup

if TYPE_CHECKING:
    from schema.tweet import Tweet
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.enum(description="What a notification is about.")
class NotificationKind(Enum):
    MENTION = described("mention", description="A tweet mentions the viewer.")
    REPLY = described("reply", description="A reply to the viewer's tweet.")
    QUOTE = described("quote", description="A tweet quoting the viewer's tweet.")
    LIKE = described("like", description="Likes of the viewer's tweet, grouped per tweet.")
    RETWEET = described("retweet", description="Retweets of the viewer's tweet, grouped per tweet.")
    FOLLOW = described("follow", description="New followers, grouped.")
    FOLLOW_REQUEST = described(
        "follow_request",
        description="Someone asks to follow the viewer's protected account (see followRequests).",
    )
    FOLLOW_REQUEST_APPROVED = described(
        "follow_request_approved",
        description="A protected account approved the viewer's follow request.",
    )


@strawberry.type(
    description="What someone did that concerns the viewer. Likes, retweets and follows of "
    "one target are grouped while unread: `count` actors, the newest of them in `actors`."
)
class Notification:
    id: strawberry.ID = strawberry.field(
        description="Its global id, the same while the group grows."
    )
    kind: NotificationKind = strawberry.field(description="What it is about.")
    count: int = strawberry.field(description="How many actors the group has.")
    latest_at: datetime = strawberry.field(description="When its newest actor joined it.")
    unread: bool = strawberry.field(
        description="Newer than the viewer's read marker (see markNotificationsRead)."
    )
    group: strawberry.Private[NotificationGroup]

    @classmethod
    def from_group(cls, group: NotificationGroup, marker: Position | None) -> Notification:
        return cls(
            id=to_global_id("Notification", group.id),
            kind=NotificationKind(group.kind),
            count=group.count,
            latest_at=group.latest_at,
            unread=not is_read(group, marker),
            group=group,
        )

    @strawberry.field(description="The newest actors, newest first (at most 8).")
    async def actors(self, info: Info) -> list[UserRef]:
        from schema.user import User

        found = await info.context.loaders.user_by_id.load_many(list(self.group.actor_ids))
        return [User.from_record(user) for user in found if user is not None]

    @strawberry.field(
        description="The tweet it is about: the one liked or retweeted, or the one that "
        "mentions, replies to or quotes the viewer; null for follows and requests."
    )
    async def tweet(self, info: Info) -> TweetRef | None:
        from schema.tweet import Tweet

        if self.group.subject_id is None:
            return None
        tweet = await info.context.loaders.visible_tweet_by_id.load(self.group.subject_id)
        return Tweet.from_record(tweet) if tweet is not None else None


@strawberry.type(description="A notification, with its cursor.")
class NotificationEdge:
    cursor: str = strawberry.field(
        description="Pass it as `after` for older notifications, or as markNotificationsRead's "
        "`upTo`."
    )
    node: Notification = strawberry.field(description="The notification.")


@strawberry.type(description="A page of notifications, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="The notifications of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


@strawberry.enum(description="What happened to one of the viewer's notifications.")
class NotificationEventType(Enum):
    UPDATED = described("UPDATED", description="It is new or has grown: show it at the top.")
    REMOVED = described(
        "REMOVED", description="It was withdrawn (an unlike, an unfollow): drop it."
    )


@strawberry.type(description="A change to the viewer's notifications.")
class NotificationEvent:
    type: NotificationEventType = strawberry.field(
        description="UPDATED: a notification is new or has grown (it moves to the top); "
        "REMOVED: it was withdrawn."
    )
    notification_id: strawberry.ID = strawberry.field(
        description="The global id of the notification updated or removed."
    )
    notification: Notification | None = strawberry.field(description="null for REMOVED.")
    cursor: str | None = strawberry.field(
        description="Where it sits in `notifications`; resubscribe with after: this."
    )

    @strawberry.field(
        description="How many of the viewer's notifications are unread after this change, "
        "as `unreadNotificationsCount` counts them: a badge needs no second request. null "
        "(with an error) when it could not be counted; the event itself still arrives."
    )
    async def unread_count(self, info: Info) -> int | None:
        viewer = info.context.require_viewer()
        return await info.context.chirp.services.notifications.unread_count(viewer)


def edge(group: NotificationGroup, marker: Position | None) -> NotificationEdge:
    cursor = notification_cursor(group.recipient_id, group.position)
    return NotificationEdge(cursor=cursor, node=Notification.from_group(group, marker))


async def visible(info: Info, groups: Sequence[NotificationGroup]) -> list[NotificationGroup]:
    """The groups as the viewer sees them now: the policy is applied again on reading (an
    account blocked, muted or suspended since, a tweet deleted or hidden since), so what a
    job wrote before a change of policy is not shown after it."""
    loaders = info.context.loaders
    policy = await loaders.policy()
    actors = await loaders.user_by_id.load_many([a for g in groups for a in g.actor_ids])
    subjects = [g.subject_id for g in groups if g.subject_id is not None]
    tweets = dict(zip(subjects, await loaders.visible_tweet_by_id.load_many(subjects), strict=True))
    shown: list[NotificationGroup] = []
    start = 0
    for group in groups:
        users = actors[start : start + len(group.sample)]
        start += len(group.sample)
        if group.subject_id is not None:
            tweet = tweets[group.subject_id]
            if tweet is None:
                continue
            if group.kind in notifications.TWEET_KINDS and policy.mutes(tweet):
                continue
        kept = notifications.shown(group, policy, users)
        if kept is not None:
            shown.append(kept)
    return shown


async def connection(
    info: Info, groups: Sequence[NotificationGroup], has_next: bool, marker: Position | None
) -> NotificationConnection:
    """A page: `groups` as stored (the end cursor is the last of them, shown or not)."""
    end = notification_cursor(groups[-1].recipient_id, groups[-1].position) if groups else None
    edges = [edge(group, marker) for group in await visible(info, groups)]
    return NotificationConnection(
        edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end)
    )
