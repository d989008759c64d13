"""Reports and the moderators' queue and log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import id_cursor, queue_cursor
from schema.node import to_global_id
from schema.timeline import PageInfo
from storage.records import ModerationRecord, ReportGroup, ReportRecord, TargetKind

if TYPE_CHECKING:
    from schema.tweet import Tweet
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.enum
class ReportReasonKind(Enum):
    SPAM = "spam"
    ABUSE = "abuse"
    HARASSMENT = "harassment"
    IMPERSONATION = "impersonation"
    ILLEGAL = "illegal"
    OTHER = "other"


@strawberry.enum
class ModerationAction(Enum):
    DISMISS = "dismiss"
    REMOVE_TWEET = "remove_tweet"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"


async def _user(info: Info, user_id: int) -> User | None:
    """A user that reports and the log name: null once the account was purged (a purge
    closes the reports against the account, but the log and others' reports outlive it)."""
    from schema.user import User

    user = await info.context.loaders.user_by_id.load(user_id)
    return User.from_record(user) if user is not None else None


async def _tweet(info: Info, kind: TargetKind, target_id: int) -> Tweet | None:
    """The reported tweet as moderators must see it: even if its author is suspended or it
    was removed (only moderators reach this)."""
    from schema.tweet import Tweet

    if kind is not TargetKind.TWEET:
        return None
    tweet = await info.context.loaders.tweet_by_id.load(target_id)
    return Tweet.from_record(tweet) if tweet is not None else None


def _target_id(kind: TargetKind, target_id: int) -> strawberry.ID:
    return to_global_id("Tweet" if kind is TargetKind.TWEET else "User", target_id)


@strawberry.type
class ReasonCount:
    reason: ReportReasonKind
    count: int


@strawberry.type
class Report:
    id: strawberry.ID
    reason: ReportReasonKind
    comment: str
    created_at: datetime
    reporter_id: strawberry.Private[int]

    @classmethod
    def from_record(cls, record: ReportRecord) -> Report:
        return cls(
            id=strawberry.ID(str(record.id)),
            reason=ReportReasonKind(record.reason.value),
            comment=record.comment,
            created_at=record.created_at,
            reporter_id=record.reporter_id,
        )

    @strawberry.field(description="Who reported; null once their account was purged.")
    async def reporter(self, info: Info) -> UserRef | None:
        return await _user(info, self.reporter_id)


@strawberry.type(description="The open reports of one tweet or account.")
class ReportGroupNode:
    target_id: strawberry.ID = strawberry.field(description="The reported Tweet's or User's id.")
    open_reports: int
    reasons: list[ReasonCount]
    first_reported_at: datetime
    last_reported_at: datetime
    group: strawberry.Private[ReportGroup]

    @classmethod
    def from_record(cls, group: ReportGroup) -> ReportGroupNode:
        return cls(
            target_id=_target_id(group.target_kind, group.target_id),
            open_reports=group.open_reports,
            reasons=[
                ReasonCount(reason=ReportReasonKind(r.value), count=n) for r, n in group.reasons
            ],
            first_reported_at=group.first_at,
            last_reported_at=group.last_at,
            group=group,
        )

    @strawberry.field(description="The reported tweet (null when an account is reported).")
    async def tweet(self, info: Info) -> TweetRef | None:
        return await _tweet(info, self.group.target_kind, self.group.target_id)

    @strawberry.field(
        description="The reported account, or the reported tweet's author; null once purged."
    )
    async def user(self, info: Info) -> UserRef | None:
        return await _user(info, self.group.owner_id)

    @strawberry.field(description="The open reports, oldest first (at most 100).")
    async def reports(self, info: Info) -> list[Report]:
        group = self.group
        found = await info.context.chirp.stores.moderation.open_reports(
            group.target_kind, group.target_id, group.owner_id, 100
        )
        return [Report.from_record(report) for report in found]


@strawberry.type
class ReportGroupEdge:
    cursor: str
    node: ReportGroupNode


@strawberry.type
class ReportQueue:
    edges: list[ReportGroupEdge]
    page_info: PageInfo

    @classmethod
    def build(cls, groups: list[ReportGroup], has_next: bool) -> ReportQueue:
        edges = [
            ReportGroupEdge(cursor=queue_cursor(g.position), node=ReportGroupNode.from_record(g))
            for g in groups
        ]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))


@strawberry.type(description="One moderator action, kept for good.")
class ModerationLogEntry:
    id: strawberry.ID
    action: ModerationAction
    target_id: strawberry.ID
    note: str
    created_at: datetime
    until: datetime | None = strawberry.field(description="When a suspension ends.")
    record: strawberry.Private[ModerationRecord]

    @classmethod
    def from_record(cls, record: ModerationRecord) -> ModerationLogEntry:
        return cls(
            id=strawberry.ID(str(record.id)),
            action=ModerationAction(record.action),
            target_id=_target_id(record.target_kind, record.target_id),
            note=record.note,
            created_at=record.created_at,
            until=record.until,
            record=record,
        )

    @strawberry.field(description="Who acted; null once their account was purged.")
    async def moderator(self, info: Info) -> UserRef | None:
        return await _user(info, self.record.moderator_id)

    @strawberry.field(
        description="The account acted on, or the author of the tweet; null once purged."
    )
    async def user(self, info: Info) -> UserRef | None:
        return await _user(info, self.record.owner_id)

    @strawberry.field
    async def tweet(self, info: Info) -> TweetRef | None:
        return await _tweet(info, self.record.target_kind, self.record.target_id)


@strawberry.type
class ModerationLogEdge:
    cursor: str
    node: ModerationLogEntry


@strawberry.type
class ModerationLog:
    edges: list[ModerationLogEdge]
    page_info: PageInfo

    @classmethod
    def build(cls, actions: list[ModerationRecord], has_next: bool) -> ModerationLog:
        edges = [
            ModerationLogEdge(cursor=id_cursor(a.id), node=ModerationLogEntry.from_record(a))
            for a in actions
        ]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))
