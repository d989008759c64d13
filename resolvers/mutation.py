"""Mutation resolvers: decode arguments, check the viewer, call a service, return types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from app import throttle
from app.context import Context
from app.cursors import decode_notification_cursor
from app.errors import BadInput
from schema.account import AuthPayload, Settings
from schema.export import DataExport
from schema.follow import FollowPayload, FollowStatus
from schema.inputs import (
    PostTweetInput,
    SignUpInput,
    UpdateProfileInput,
    UpdateSettingsInput,
    provided,
)
from schema.media import MediaUpload
from schema.moderation import ModerationAction, ModerationLogEntry, ReportReasonKind
from schema.node import database_id_of, from_global_id
from schema.safety import MutedWord
from schema.tweet import Tweet
from schema.user import User
from storage.records import ReportReason, TargetKind

Info = strawberry.Info[Context, None]


def _auth(session: object) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,  # type: ignore[attr-defined]
        refresh_token=session.refresh_token,  # type: ignore[attr-defined]
        user=User.from_record(session.user),  # type: ignore[attr-defined]
    )


async def _on_tweet(
    info: Info, id: strawberry.ID, action: Callable[[int, int], Awaitable[Any]]
) -> Tweet:
    """A viewer's action on one tweet (like, retweet, ...), answering with that tweet."""
    viewer = info.context.require_viewer()
    return Tweet.from_record(await action(viewer, database_id_of(id, "Tweet")))


def _optional_id(value: strawberry.ID | None, type_name: str, argument: str) -> int | None:
    return database_id_of(value, type_name, argument) if value is not None else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        limits = info.context.chirp.settings.limits
        await info.context.throttle("sign_up", limits.sign_ups_per_minute, 60, "sign-ups")
        session = await info.context.chirp.services.sign_up(
            input.username, input.email, input.password, input.display_name
        )
        return _auth(session)

    @strawberry.mutation(description="Log in with a username or an email.")
    async def log_in(self, info: Info, login: str, password: str) -> AuthPayload:
        context = info.context
        limits = context.chirp.settings.limits
        await context.throttle("log_in", limits.log_ins_per_minute, 60, "log-in attempts")
        await throttle.spend(
            context.chirp.stores.cache,
            "log_in_account",
            throttle.account_key(login),
            limits.log_ins_per_account,
            throttle.LOG_IN_ACCOUNT_WINDOW_S,
            "log-in attempts for this account",
        )
        return _auth(await context.chirp.services.log_in(login, password))

    @strawberry.mutation(description="Trade a refresh token (once) for a new pair of tokens.")
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        limits = info.context.chirp.settings.limits
        await info.context.throttle("refresh", limits.refreshes_per_minute, 60, "token refreshes")
        return _auth(await info.context.chirp.services.refresh_session(refresh_token))

    @strawberry.mutation(description="End the session of this refresh token.")
    async def log_out(self, info: Info, refresh_token: str) -> bool:
        return await info.context.chirp.services.log_out(refresh_token)

    @strawberry.mutation(
        description="Delete your account: hidden everywhere at once and every session ended; "
        "logging in within the cancel window (30 days) restores it, and it is purged for good "
        "after the purge window (90 days). A wrong password is WRONG_PASSWORD."
    )
    async def delete_account(self, info: Info, password: str) -> bool:
        context = info.context
        viewer = context.require_viewer()
        await throttle.spend(  # a stolen token must not become a password oracle
            context.chirp.stores.cache,
            "delete_account",
            str(viewer),
            context.chirp.settings.limits.log_ins_per_account,
            throttle.LOG_IN_ACCOUNT_WINDOW_S,
            "password attempts for this account",
        )
        await context.chirp.services.account_deletions.delete(viewer, password)
        return True

    @strawberry.mutation
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        viewer = info.context.require_viewer()
        changes = provided(input)
        user = await info.context.chirp.services.update_profile(viewer, changes)  # type: ignore[arg-type]
        return User.from_record(user)

    @strawberry.mutation
    async def update_settings(self, info: Info, input: UpdateSettingsInput) -> Settings:
        viewer = info.context.require_viewer()
        changes = provided(input)
        preferences = changes.get("notification_preferences")
        if preferences is not None:
            changes["notification_preferences"] = provided(preferences)
        record = await info.context.chirp.services.update_settings(viewer, changes)
        return Settings.from_record(record)

    @strawberry.mutation
    async def post_tweet(self, info: Info, input: PostTweetInput) -> Tweet:
        viewer = info.context.require_viewer()
        tweet = await info.context.chirp.services.post_tweet(
            viewer,
            input.text,
            reply_to_id=_optional_id(input.reply_to_id, "Tweet", "replyToId"),
            quote_of_id=_optional_id(input.quote_of_id, "Tweet", "quoteOfId"),
            idempotency_key=input.idempotency_key,
            source=input.source,
            language=input.language,
            media_ids=[str(media_id) for media_id in input.media_ids],
        )
        return Tweet.from_record(tweet)

    @strawberry.mutation(
        description="Start an upload: image/jpeg, png, webp, gif, video/mp4 or quicktime."
    )
    async def create_media_upload(self, info: Info, content_type: str, size: int) -> MediaUpload:
        viewer = info.context.require_viewer()
        upload = await info.context.chirp.services.create_media_upload(viewer, content_type, size)
        return MediaUpload(
            media_id=strawberry.ID(upload.media_id),
            upload_url=upload.upload_url,
            content_type=upload.content_type,
            size=upload.size,
            expires_at=upload.expires_at,
        )

    @strawberry.mutation(
        description="Delete one of your tweets; returns its id. It vanishes at once, and "
        "you may restore it (`restoreTweet`, `me.deletedTweets`) until its grace period "
        "(30 days by default) is over; then it is purged."
    )
    async def delete_tweet(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        viewer = info.context.require_viewer()
        tweet = await info.context.chirp.services.delete_tweet(viewer, database_id_of(id, "Tweet"))
        return Tweet.from_record(tweet).id

    @strawberry.mutation(
        description="Bring back one of your deleted tweets within its grace period, as it "
        "was: counts, timelines and search. Someone else's tweet is FORBIDDEN; a tweet that "
        "is not a deleted tweet of yours is NOT_FOUND; past `purgeAt`, GRACE_PERIOD_OVER."
    )
    async def restore_tweet(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.restore_tweet)

    @strawberry.mutation
    async def like_tweet(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.like_tweet)

    @strawberry.mutation
    async def unlike_tweet(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.unlike_tweet)

    @strawberry.mutation(description="Retweet a tweet; returns the tweet retweeted.")
    async def retweet(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.retweet)

    @strawberry.mutation
    async def undo_retweet(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.undo_retweet)

    @strawberry.mutation(
        description="Bookmark a tweet you can see (a retweet: the tweet it retweets); "
        "again changes nothing. Only you see your bookmarks."
    )
    async def bookmark(self, info: Info, id: strawberry.ID) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.bookmark_tweet)

    @strawberry.mutation(
        description="Remove a bookmark (none: nothing changes); returns the tweet, or null "
        "if you may no longer see it."
    )
    async def unbookmark(self, info: Info, id: strawberry.ID) -> Tweet | None:
        viewer = info.context.require_viewer()
        tweet_id = database_id_of(id, "Tweet")
        removed = await info.context.chirp.services.unbookmark_tweet(viewer, tweet_id)
        tweet = await info.context.loaders.visible_tweet_by_id.load(removed)
        return Tweet.from_record(tweet) if tweet is not None else None

    @strawberry.mutation(
        description="Ask for a copy of your data (a zip archive, built in the background: see "
        "me.dataExport). One at a time: EXPORT_IN_PROGRESS while one is being prepared."
    )
    async def request_data_export(self, info: Info) -> DataExport:
        viewer = info.context.require_viewer()
        export = await info.context.chirp.services.request_data_export(viewer)
        return DataExport.from_record(export)

    @strawberry.mutation(
        description="Pin one of your own tweets (not a retweet) to your profile, in place of "
        "any pinned before; returns your account."
    )
    async def pin_tweet(self, info: Info, id: strawberry.ID) -> User:
        viewer = info.context.require_viewer()
        user = await info.context.chirp.services.pin_tweet(viewer, database_id_of(id, "Tweet"))
        return User.from_record(user)

    @strawberry.mutation(description="Unpin your pinned tweet (none: nothing changes).")
    async def unpin_tweet(self, info: Info) -> User:
        viewer = info.context.require_viewer()
        return User.from_record(await info.context.chirp.services.unpin_tweet(viewer))

    @strawberry.mutation(
        description="Follow a user; for a protected account this sends a follow request."
    )
    async def follow(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        user, state = await info.context.chirp.services.follow_user(viewer, target)
        return FollowPayload(user=User.from_record(user), status=FollowStatus(state.value))

    @strawberry.mutation(description="Stop following a user, or withdraw a follow request.")
    async def unfollow(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        user, state = await info.context.chirp.services.unfollow_user(viewer, target)
        return FollowPayload(user=User.from_record(user), status=FollowStatus(state.value))

    @strawberry.mutation(description="Let a user who asked follow your protected account.")
    async def approve_follow_request(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        viewer = info.context.require_viewer()
        requester = database_id_of(user_id, "User", "userId")
        user = await info.context.chirp.services.answer_follow_request(viewer, requester, True)
        return FollowPayload(user=User.from_record(user), status=FollowStatus.FOLLOWING)

    @strawberry.mutation(description="Turn down a follow request.")
    async def reject_follow_request(self, info: Info, user_id: strawberry.ID) -> FollowPayload:
        viewer = info.context.require_viewer()
        requester = database_id_of(user_id, "User", "userId")
        user = await info.context.chirp.services.answer_follow_request(viewer, requester, False)
        return FollowPayload(user=User.from_record(user), status=FollowStatus.NOT_FOLLOWING)

    @strawberry.mutation(
        description="Block a user: follows both ways end, and neither of you sees the other."
    )
    async def block(self, info: Info, user_id: strawberry.ID) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.block_user(viewer, target))

    @strawberry.mutation(description="Lift a block (ended follows stay ended).")
    async def unblock(self, info: Info, user_id: strawberry.ID) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.unblock_user(viewer, target))

    @strawberry.mutation(
        description="Keep a user's tweets and retweets out of your home timeline, live "
        "timeline and search, for `expiresIn` seconds or for good; they can still be opened."
    )
    async def mute(self, info: Info, user_id: strawberry.ID, expires_in: int | None = None) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        muted = await info.context.chirp.services.mute_user(viewer, target, expires_in)
        return User.from_record(muted)

    @strawberry.mutation
    async def unmute(self, info: Info, user_id: strawberry.ID) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.unmute_user(viewer, target))

    @strawberry.mutation(
        description="Keep tweets with this word or #hashtag (whole words, any case) out of "
        "your feeds, for `expiresIn` seconds or for good; returns your muted words."
    )
    async def add_muted_word(
        self, info: Info, word: str, expires_in: int | None = None
    ) -> list[MutedWord]:
        viewer = info.context.require_viewer()
        words = await info.context.chirp.services.muted_words.add(viewer, word, expires_in)
        return [MutedWord.from_record(w) for w in words]

    @strawberry.mutation(description="Stop muting a word; returns your muted words.")
    async def remove_muted_word(self, info: Info, word: str) -> list[MutedWord]:
        viewer = info.context.require_viewer()
        words = await info.context.chirp.services.muted_words.remove(viewer, word)
        return [MutedWord.from_record(w) for w in words]

    @strawberry.mutation(
        description="Report a tweet to the moderators (one open report per tweet); "
        "the comment is up to 1,000 characters."
    )
    async def report_tweet(
        self, info: Info, id: strawberry.ID, reason: ReportReasonKind, comment: str = ""
    ) -> bool:
        viewer = info.context.require_viewer()
        tweet_id = database_id_of(id, "Tweet")
        reports = info.context.chirp.services.reports
        await reports.tweet(viewer, tweet_id, ReportReason(reason.value), comment)
        return True

    @strawberry.mutation(description="Report an account to the moderators.")
    async def report_user(
        self, info: Info, user_id: strawberry.ID, reason: ReportReasonKind, comment: str = ""
    ) -> bool:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        reports = info.context.chirp.services.reports
        await reports.user(viewer, target, ReportReason(reason.value), comment)
        return True

    @strawberry.mutation(
        description="Moderators: act on a reported Tweet or User (its global id) and close "
        "its open reports; `note` says why; SUSPEND takes `suspendFor` seconds."
    )
    async def resolve_reports(
        self,
        info: Info,
        target_id: strawberry.ID,
        action: ModerationAction,
        note: str,
        suspend_for: int | None = None,
    ) -> ModerationLogEntry:
        viewer = info.context.require_viewer()
        type_name, database_id = from_global_id(target_id, "targetId")
        kinds = {"Tweet": TargetKind.TWEET, "User": TargetKind.USER}
        if type_name not in kinds:
            raise BadInput("targetId must be the id of a Tweet or a User.", argument="targetId")
        record = await info.context.chirp.services.moderation.resolve(
            viewer, kinds[type_name], database_id, action.value, note, suspend_for
        )
        return ModerationLogEntry.from_record(record)

    @strawberry.mutation(
        description="Mark the viewer's notifications read up to `upTo` (a notification's "
        "cursor) or, without it, all of them; returns how many are still unread."
    )
    async def mark_notifications_read(self, info: Info, up_to: str | None = None) -> int:
        viewer = info.context.require_viewer()
        position = decode_notification_cursor(up_to, viewer, "upTo")
        return await info.context.chirp.services.notifications.mark_read(viewer, position)
