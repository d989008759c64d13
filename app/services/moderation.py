"""Reports and moderation.

Anyone logged in reports a tweet or an account with a reason and a comment; one report per
reporter and target stays open until a moderator resolves it. Moderators (the role is
granted on the command line: `chirp users grant moderator NAME`) read the open reports
grouped by target and resolve each target once: dismiss, remove the tweet, suspend the
account for a while, or lift a suspension. Every action is kept in the moderation log: who,
what, which target, when, why.

A suspension hides the account's tweets from every read path (app/policy.py), refuses
log-in and refresh, and ends its sessions; its access tokens stop working at once. Nothing
is deleted: unsuspending brings everything back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app import text
from app.archive import ColdArchive
from app.errors import BadInput, Forbidden, NotFoundError, UserError
from app.ids import SnowflakeGenerator
from app.jobs import Jobs
from app.jobs.index_users import IndexUsers
from app.policy import Gate
from app.readthrough import ReadThrough
from app.services.delete_tweet import retract
from storage.records import (
    ModerationRecord,
    ReportGroup,
    ReportReason,
    ReportRecord,
    TargetKind,
    TweetRecord,
    UserRecord,
    utcnow,
)
from storage.registry import Stores

MODERATOR = "moderator"
ROLES = frozenset({MODERATOR})
MAX_COMMENT = 1_000
MAX_NOTE = 1_000
MAX_SUSPENSION_S = 10 * 365 * 24 * 3600


class AlreadyReported(UserError):
    code = "ALREADY_REPORTED"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: int
    owner_id: int


class Reports:
    def __init__(
        self,
        stores: Stores,
        gate: Gate,
        ids: SnowflakeGenerator,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
    ) -> None:
        self._stores = stores
        self._gate = gate
        self._ids = ids
        self._tweets = tweet_cache
        self._users = user_cache

    async def tweet(
        self, reporter_id: int, tweet_id: int, reason: ReportReason, comment: str
    ) -> ReportRecord:
        comment = _comment(comment)
        [tweet] = await self._tweets.get_many([tweet_id])
        if tweet is None or tweet.is_deleted:
            raise NotFoundError("That tweet does not exist.", argument="id")
        policy = await self._gate.policy(reporter_id)
        if not policy.blocked_either_way(tweet.user_id):  # a blocked account's can be reported
            await self._gate.visible_tweet(reporter_id, tweet_id, "id", policy=policy)
        if tweet.user_id == reporter_id:
            raise BadInput("You cannot report your own tweet.", argument="id")
        target = Target(TargetKind.TWEET, tweet.id, tweet.user_id)
        return await self._file(reporter_id, target, reason, comment)

    async def user(
        self, reporter_id: int, user_id: int, reason: ReportReason, comment: str
    ) -> ReportRecord:
        comment = _comment(comment)
        if user_id == reporter_id:
            raise BadInput("You cannot report yourself.", argument="userId")
        [user] = await self._users.get_many([user_id])
        if user is None:
            raise NotFoundError("That user does not exist.", argument="userId")
        return await self._file(
            reporter_id, Target(TargetKind.USER, user.id, user.id), reason, comment
        )

    async def _file(
        self, reporter_id: int, target: Target, reason: ReportReason, comment: str
    ) -> ReportRecord:
        report = ReportRecord(
            id=self._ids.next_id(),
            reporter_id=reporter_id,
            target_kind=target.kind,
            target_id=target.id,
            owner_id=target.owner_id,
            reason=reason,
            comment=comment,
            created_at=utcnow(),
        )
        if not await self._stores.moderation.add_report(report):
            raise AlreadyReported("You have already reported this; a moderator will look at it.")
        return report


class Moderation:
    def __init__(
        self,
        stores: Stores,
        jobs: Jobs,
        ids: SnowflakeGenerator,
        tweet_cache: ReadThrough[TweetRecord],
        user_cache: ReadThrough[UserRecord],
    ) -> None:
        self._stores = stores
        self._jobs = jobs
        self._ids = ids
        self._tweets = tweet_cache
        self._users = user_cache
        self._archive = ColdArchive(stores)

    async def require_moderator(self, viewer_id: int) -> None:
        if MODERATOR not in await self._stores.moderation.roles(viewer_id):
            raise Forbidden("Only moderators can do this.")

    async def queue(
        self, viewer_id: int, first: int, after: tuple[datetime, str, int] | None
    ) -> tuple[list[ReportGroup], bool]:
        await self.require_moderator(viewer_id)
        groups = await self._stores.moderation.open_groups(first + 1, after)
        return groups[:first], len(groups) > first

    async def log(
        self, viewer_id: int, first: int, before: int | None
    ) -> tuple[list[ModerationRecord], bool]:
        await self.require_moderator(viewer_id)
        actions = await self._stores.moderation.actions_page(first + 1, before)
        return actions[:first], len(actions) > first

    async def resolve(
        self,
        moderator_id: int,
        target_kind: TargetKind,
        target_id: int,
        action: str,
        note: str,
        suspend_for_s: int | None,
    ) -> ModerationRecord:
        note = text.checked(
            text.normalize(note), "note", multiline=True, max_length=MAX_NOTE, kind="argument"
        ).strip()
        if not note:
            raise BadInput("Say why: a note is required.", argument="note")
        await self.require_moderator(moderator_id)
        target = await self._target(target_kind, target_id)
        now = utcnow()
        until = None
        if action == "suspend":
            until = now + _duration(suspend_for_s)
        elif suspend_for_s is not None:
            raise BadInput("suspendFor goes with SUSPEND only.", argument="suspendFor")
        if action == "remove_tweet":
            await self._remove(target)
        elif action in ("suspend", "unsuspend"):
            await self._stores.users.set_suspended(target.owner_id, until)
            await self._users.invalidate([target.owner_id])
            await self._jobs.enqueue(IndexUsers, {"user_id": target.owner_id})
            if action == "suspend":
                await self._stores.sessions.revoke_user(target.owner_id)
        elif action != "dismiss":
            raise BadInput(f"Unknown action {action!r}.", argument="action")
        record = ModerationRecord(
            id=self._ids.next_id(),
            moderator_id=moderator_id,
            action=action,
            target_kind=target.kind,
            target_id=target.id,
            owner_id=target.owner_id,
            note=note,
            created_at=now,
            until=until,
        )
        await self._stores.moderation.record(record)
        await self._stores.moderation.resolve(target.kind, target.id, target.owner_id, action, now)
        return record

    async def _target(self, kind: TargetKind, target_id: int) -> Target:
        if kind is TargetKind.TWEET:
            [tweet] = await self._tweets.get_many([target_id])
            if tweet is None:
                raise NotFoundError("That tweet does not exist.", argument="targetId")
            return Target(kind, tweet.id, tweet.user_id)
        [user] = await self._users.get_many([target_id])
        if user is None:
            raise NotFoundError("That user does not exist.", argument="targetId")
        return Target(kind, user.id, user.id)

    async def _remove(self, target: Target) -> None:
        if target.kind is not TargetKind.TWEET:
            raise BadInput("REMOVE_TWEET needs a tweet as its target.", argument="action")
        await self._archive.thaw([target.id])  # an archived tweet is removed where it lives
        [tweet] = await self._stores.tweets.get_many([target.id])
        if tweet is not None and not tweet.is_deleted:
            async with self._archive.holding(tweet):
                await retract(self._stores, self._jobs, self._tweets, tweet)

    async def set_role(self, username: str, role: str, granted: bool) -> bool:
        """For the command line: grant or revoke a role; whether anything changed."""
        if role not in ROLES:
            raise BadInput(f"Unknown role {role!r}; roles: {', '.join(sorted(ROLES))}.")
        user = await self._stores.users.find_by_username(username)
        if user is None:
            raise NotFoundError(f"There is no user {username!r}.")
        moderation = self._stores.moderation
        if granted:
            return await moderation.grant(user.id, role, utcnow())
        return await moderation.revoke(user.id, role)


def _comment(comment: str) -> str:
    return text.checked(
        text.normalize(comment), "comment", multiline=True, max_length=MAX_COMMENT, kind="argument"
    )


def _duration(seconds: int | None) -> timedelta:
    if seconds is None or not 1 <= seconds <= MAX_SUSPENSION_S:
        raise BadInput(
            f"SUSPEND needs suspendFor: seconds from 1 to {MAX_SUSPENSION_S}.",
            argument="suspendFor",
        )
    return timedelta(seconds=seconds)
