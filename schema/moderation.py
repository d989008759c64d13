"""Reports and the moderators' queue and log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import id_cursor, queue_cursor
from schema.enum_values import described
from schema.node import to_global_id
from schema.timeline import CURSOR, PageInfo
from storage.records import ModerationRecord, ReportGroup, ReportRecord, TargetKind

if TYPE_CHECKING:
    from schema.tweet import Tweet
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]
TweetRef = Annotated["Tweet", strawberry.lazy("schema.tweet")]


@strawberry.enum(description="Why a tweet or an account is reported.")
class ReportReasonKind(Enum):
    SPAM = described("spam", description="Spam.")
    ABUSE = described("abuse", description="Abusive content.")
    HARASSMENT = described("harassment", description="Harassment of someone.")
    IMPERSONATION = described("impersonation", description="Pretending to be someone else.")
    ILLEGAL = described("illegal", description="Illegal content.")
    OTHER = described("other", description="Anything else: say what in the comment.")


@strawberry.enum(description="What a moderator does about a reported tweet or account.")
class ModerationAction(Enum):
    DISMISS = described("dismiss", description="Close the reports and change nothing else.")
    REMOVE_TWEET = described(
        "remove_tweet",
        description="Remove the reported tweet for everyone (a tweet target only); its author "
        "cannot restore it.",
    )
    SUSPEND = described(
        "suspend",
        description="Suspend the account (or the tweet's author) for `suspendFor` seconds: "
        "nothing of theirs is shown, they cannot log in, and their sessions end.",
    )
    UNSUSPEND = described(
        "unsuspend", description="Lift the account's suspension (nothing was deleted)."
    )


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


@strawberry.type(description="How many open reports give one reason.")
class ReasonCount:
    reason: ReportReasonKind = strawberry.field(description="The reason.")
    count: int = strawberry.field(description="How many open reports give it.")


@strawberry.type(description="One user's report of a tweet or an account.")
class Report:
    id: strawberry.ID = strawberry.field(description="The report's databaseId (not a global id).")
    reason: ReportReasonKind = strawberry.field(description="Why it was reported.")
    comment: str = strawberry.field(description="The reporter's comment; may be empty.")
    created_at: datetime = strawberry.field(description="When it was reported.")
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
    target_id: strawberry.ID = strawberry.field(
        description="The reported Tweet's or User's global id (resolveReports' targetId)."
    )
    open_reports: int = strawberry.field(description="How many reports of it are open.")
    reasons: list[ReasonCount] = strawberry.field(
        description="The open reports by reason, the most given first."
    )
    first_reported_at: datetime = strawberry.field(
        description="When the oldest open report came in."
    )
    last_reported_at: datetime = strawberry.field(
        description="When the newest open report came in."
    )
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


@strawberry.type(description="A reported target in the queue, with its cursor.")
class ReportGroupEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: ReportGroupNode = strawberry.field(description="The target and its open reports.")


@strawberry.type(description="Targets with open reports, the longest waiting first.")
class ReportQueue:
    edges: list[ReportGroupEdge] = strawberry.field(description="The targets of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

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
    id: strawberry.ID = strawberry.field(description="The action's databaseId (not a global id).")
    action: ModerationAction = strawberry.field(description="What the moderator did.")
    target_id: strawberry.ID = strawberry.field(
        description="The global id of the Tweet or User acted on."
    )
    note: str = strawberry.field(description="Why, as the moderator wrote it.")
    created_at: datetime = strawberry.field(description="When it was done.")
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

    @strawberry.field(
        description="The tweet acted on, even if removed; null when an account was the "
        "target, or once the tweet was purged."
    )
    async def tweet(self, info: Info) -> TweetRef | None:
        return await _tweet(info, self.record.target_kind, self.record.target_id)


@strawberry.type(description="A moderator action, with its cursor.")
class ModerationLogEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: ModerationLogEntry = strawberry.field(description="The action.")


@strawberry.type(description="Every moderator action, newest first.")
class ModerationLog:
    edges: list[ModerationLogEdge] = strawberry.field(description="The actions of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def build(cls, actions: list[ModerationRecord], has_next: bool) -> ModerationLog:
        edges = [
            ModerationLogEdge(cursor=id_cursor(a.id), node=ModerationLogEntry.from_record(a))
            for a in actions
        ]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))
