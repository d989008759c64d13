"""Mutation resolvers: decode arguments, check the viewer, call a service, return types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

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
TweetId = Annotated[
    strawberry.ID, strawberry.argument(description="The tweet's global id, or its databaseId.")
]
UserId = Annotated[
    strawberry.ID, strawberry.argument(description="The user's global id, or their databaseId.")
]
ExpiresIn = Annotated[
    int | None,
    strawberry.argument(
        description="For how many seconds: 1 to 315360000 (ten years); null or left out: for good."
    ),
]
Reason = Annotated[ReportReasonKind, strawberry.argument(description="Why it is reported.")]
Comment = Annotated[
    str,
    strawberry.argument(
        description="What the moderators should know: up to 1,000 characters, newlines "
        "allowed; may be empty."
    ),
]
RefreshToken = Annotated[
    str, strawberry.argument(description="The refresh token of the session's latest AuthPayload.")
]


def _auth(session: object) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,  # type: ignore[attr-defined]
        refresh_token=session.refresh_token,  # type: ignore[attr-defined]
        expires_in=session.expires_in,  # type: ignore[attr-defined]
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


@strawberry.type(
    description="Writes. All but signUp, logIn, refreshToken and logOut need a logged-in "
    "viewer (UNAUTHENTICATED otherwise), and a viewer may make 120 a minute by default "
    "(then RATE_LIMITED, with `retryAfterSeconds`)."
)
class Mutation:
    @strawberry.mutation(
        description="Create an account and log in to it. Anyone may call it, 10 times a minute "
        "per client address by default; a username or email already taken is BAD_USER_INPUT "
        "naming the field."
    )
    async def sign_up(
        self,
        info: Info,
        input: Annotated[SignUpInput, strawberry.argument(description="The new account.")],
    ) -> AuthPayload:
        limits = info.context.chirp.settings.limits
        await info.context.throttle("sign_up", limits.sign_ups_per_minute, 60, "sign-ups")
        session = await info.context.chirp.services.sign_up(
            input.username, input.email, input.password, input.display_name
        )
        return _auth(session)

    @strawberry.mutation(
        description="Log in with a username or an email. A wrong login or password is "
        "UNAUTHENTICATED, a suspended account SUSPENDED, and a deleted account past its "
        "cancel window ACCOUNT_DELETED (within it, logging in restores the account). "
        "Attempts are limited per client address and per account (RATE_LIMITED)."
    )
    async def log_in(
        self,
        info: Info,
        login: Annotated[
            str, strawberry.argument(description="A username or an email address, in any case.")
        ],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> AuthPayload:
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

    @strawberry.mutation(
        description="Trade a refresh token (once) for a new pair of tokens; 60 a minute per "
        "client address by default. A used, expired or ended one is UNAUTHENTICATED (log in "
        "again), and presenting a used one ends its whole session."
    )
    async def refresh_token(self, info: Info, refresh_token: RefreshToken) -> AuthPayload:
        limits = info.context.chirp.settings.limits
        await info.context.throttle("refresh", limits.refreshes_per_minute, 60, "token refreshes")
        return _auth(await info.context.chirp.services.refresh_session(refresh_token))

    @strawberry.mutation(
        description="End the session of this refresh token: its access tokens stop working "
        "too. Returns whether the token was still live."
    )
    async def log_out(self, info: Info, refresh_token: RefreshToken) -> bool:
        return await info.context.chirp.services.log_out(refresh_token)

    @strawberry.mutation(
        description="Delete your account: hidden everywhere at once and every session ended; "
        "logging in within the cancel window (30 days) restores it, and it is purged for good "
        "after the purge window (90 days). A wrong password is WRONG_PASSWORD."
    )
    async def delete_account(
        self,
        info: Info,
        password: Annotated[str, strawberry.argument(description="Your password, to confirm.")],
    ) -> bool:
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

    @strawberry.mutation(
        description="Change your profile; returns your account. A value that breaks a field's "
        "rule is BAD_USER_INPUT naming the field, and nothing changes."
    )
    async def update_profile(
        self,
        info: Info,
        input: Annotated[
            UpdateProfileInput, strawberry.argument(description="The fields to change.")
        ],
    ) -> User:
        viewer = info.context.require_viewer()
        changes = provided(input)
        user = await info.context.chirp.services.update_profile(viewer, changes)  # type: ignore[arg-type]
        return User.from_record(user)

    @strawberry.mutation(
        description="Change your settings; returns them all. A value that breaks a field's "
        "rule is BAD_USER_INPUT naming the field, and nothing changes."
    )
    async def update_settings(
        self,
        info: Info,
        input: Annotated[
            UpdateSettingsInput, strawberry.argument(description="The settings to change.")
        ],
    ) -> Settings:
        viewer = info.context.require_viewer()
        changes = provided(input)
        preferences = changes.get("notification_preferences")
        if preferences is not None:
            changes["notification_preferences"] = provided(preferences)
        record = await info.context.chirp.services.update_settings(viewer, changes)
        return Settings.from_record(record)

    @strawberry.mutation(
        description="Post a tweet, a reply or a quote; returns it. It is in your own home "
        "timeline at once and reaches your followers' within seconds. A tweet replied to or "
        "quoted that you may not see is NOT_FOUND."
    )
    async def post_tweet(
        self,
        info: Info,
        input: Annotated[PostTweetInput, strawberry.argument(description="The tweet.")],
    ) -> Tweet:
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
        description="Start an upload: image/jpeg, png or webp (up to 5 MiB), image/gif (15 "
        "MiB), video/mp4 or quicktime (20 MiB). Then PUT the bytes to `uploadUrl` within 15 "
        "minutes, and attach `mediaId` to a tweet."
    )
    async def create_media_upload(
        self,
        info: Info,
        content_type: Annotated[
            str, strawberry.argument(description="The media type, such as image/png.")
        ],
        size: Annotated[
            int,
            strawberry.argument(
                description="The size in bytes, at most the type's limit; the upload must "
                "send exactly this many."
            ),
        ],
    ) -> MediaUpload:
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
        description="Delete one of your tweets (someone else's is FORBIDDEN); returns its id. "
        "It vanishes at once, and you may restore it (`restoreTweet`, `me.deletedTweets`) "
        "until its grace period (30 days by default) is over; then it is purged."
    )
    async def delete_tweet(self, info: Info, id: TweetId) -> strawberry.ID:
        viewer = info.context.require_viewer()
        tweet = await info.context.chirp.services.delete_tweet(viewer, database_id_of(id, "Tweet"))
        return Tweet.from_record(tweet).id

    @strawberry.mutation(
        description="Bring back one of your deleted tweets within its grace period, as it "
        "was: counts, timelines and search. Someone else's tweet is FORBIDDEN; a tweet that "
        "is not a deleted tweet of yours is NOT_FOUND; past `purgeAt`, GRACE_PERIOD_OVER."
    )
    async def restore_tweet(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.restore_tweet)

    @strawberry.mutation(
        description="Like a tweet you can see (NOT_FOUND otherwise; a retweet: the tweet it "
        "retweets); liking again changes nothing. Returns the tweet liked."
    )
    async def like_tweet(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.like_tweet)

    @strawberry.mutation(
        description="Take back your like of a tweet you can see (none: nothing changes); "
        "returns the tweet."
    )
    async def unlike_tweet(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.unlike_tweet)

    @strawberry.mutation(
        description="Retweet a tweet you can see (a retweet: the tweet it retweets); "
        "retweeting again changes nothing. Returns the tweet retweeted; a protected "
        "account's tweet is FORBIDDEN."
    )
    async def retweet(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.retweet)

    @strawberry.mutation(
        description="Undo your retweet of a tweet (none: nothing changes); returns the tweet."
    )
    async def undo_retweet(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.undo_retweet)

    @strawberry.mutation(
        description="Bookmark a tweet you can see (a retweet: the tweet it retweets); "
        "again changes nothing. Only you see your bookmarks."
    )
    async def bookmark(self, info: Info, id: TweetId) -> Tweet:
        return await _on_tweet(info, id, info.context.chirp.services.bookmark_tweet)

    @strawberry.mutation(
        description="Remove a bookmark (none: nothing changes); returns the tweet, or null "
        "if you may no longer see it."
    )
    async def unbookmark(self, info: Info, id: TweetId) -> Tweet | None:
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
        description="Pin one of your own tweets to your profile, in place of any pinned "
        "before; returns your account. Someone else's tweet is FORBIDDEN, a retweet "
        "BAD_USER_INPUT."
    )
    async def pin_tweet(self, info: Info, id: TweetId) -> User:
        viewer = info.context.require_viewer()
        user = await info.context.chirp.services.pin_tweet(viewer, database_id_of(id, "Tweet"))
        return User.from_record(user)

    @strawberry.mutation(description="Unpin your pinned tweet (none: nothing changes).")
    async def unpin_tweet(self, info: Info) -> User:
        viewer = info.context.require_viewer()
        return User.from_record(await info.context.chirp.services.unpin_tweet(viewer))

    @strawberry.mutation(
        description="Follow a user; for a protected account this sends a follow request. "
        "BLOCKED when a block stands either way, SUSPENDED for a suspended account, "
        "BAD_USER_INPUT for yourself."
    )
    async def follow(self, info: Info, user_id: UserId) -> FollowPayload:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        user, state = await info.context.chirp.services.follow_user(viewer, target)
        return FollowPayload(user=User.from_record(user), status=FollowStatus(state.value))

    @strawberry.mutation(description="Stop following a user, or withdraw a follow request.")
    async def unfollow(self, info: Info, user_id: UserId) -> FollowPayload:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        user, state = await info.context.chirp.services.unfollow_user(viewer, target)
        return FollowPayload(user=User.from_record(user), status=FollowStatus(state.value))

    @strawberry.mutation(
        description="Let a user who asked follow your protected account (NOT_FOUND when no "
        "request of theirs is pending)."
    )
    async def approve_follow_request(self, info: Info, user_id: UserId) -> FollowPayload:
        viewer = info.context.require_viewer()
        requester = database_id_of(user_id, "User", "userId")
        user = await info.context.chirp.services.answer_follow_request(viewer, requester, True)
        return FollowPayload(user=User.from_record(user), status=FollowStatus.FOLLOWING)

    @strawberry.mutation(
        description="Turn down a follow request (NOT_FOUND when no request of theirs is pending)."
    )
    async def reject_follow_request(self, info: Info, user_id: UserId) -> FollowPayload:
        viewer = info.context.require_viewer()
        requester = database_id_of(user_id, "User", "userId")
        user = await info.context.chirp.services.answer_follow_request(viewer, requester, False)
        return FollowPayload(user=User.from_record(user), status=FollowStatus.NOT_FOLLOWING)

    @strawberry.mutation(
        description="Block a user: follows both ways end, and neither of you sees the other."
    )
    async def block(self, info: Info, user_id: UserId) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.block_user(viewer, target))

    @strawberry.mutation(description="Lift a block (ended follows stay ended).")
    async def unblock(self, info: Info, user_id: UserId) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.unblock_user(viewer, target))

    @strawberry.mutation(
        description="Keep a user's tweets and retweets out of your home timeline, live "
        "timeline and search, for `expiresIn` seconds or for good; they can still be opened."
    )
    async def mute(self, info: Info, user_id: UserId, expires_in: ExpiresIn = None) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        muted = await info.context.chirp.services.mute_user(viewer, target, expires_in)
        return User.from_record(muted)

    @strawberry.mutation(description="Stop muting a user (none: nothing changes); returns them.")
    async def unmute(self, info: Info, user_id: UserId) -> User:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        return User.from_record(await info.context.chirp.services.unmute_user(viewer, target))

    @strawberry.mutation(
        description="Keep tweets with this word or #hashtag (whole words, any case) out of "
        "your feeds, for `expiresIn` seconds or for good; returns your muted words. At most "
        "200 words."
    )
    async def add_muted_word(
        self,
        info: Info,
        word: Annotated[
            str,
            strawberry.argument(
                description="1 to 100 characters with a letter or a digit; `cat` also hides "
                "#cat, `#cat` only the hashtag."
            ),
        ],
        expires_in: ExpiresIn = None,
    ) -> list[MutedWord]:
        viewer = info.context.require_viewer()
        words = await info.context.chirp.services.muted_words.add(viewer, word, expires_in)
        return [MutedWord.from_record(w) for w in words]

    @strawberry.mutation(description="Stop muting a word; returns your muted words.")
    async def remove_muted_word(
        self,
        info: Info,
        word: Annotated[str, strawberry.argument(description="The word, in any case.")],
    ) -> list[MutedWord]:
        viewer = info.context.require_viewer()
        words = await info.context.chirp.services.muted_words.remove(viewer, word)
        return [MutedWord.from_record(w) for w in words]

    @strawberry.mutation(
        description="Report someone else's tweet to the moderators: one open report of yours "
        "per tweet (ALREADY_REPORTED while it is open)."
    )
    async def report_tweet(
        self, info: Info, id: TweetId, reason: Reason, comment: Comment = ""
    ) -> bool:
        viewer = info.context.require_viewer()
        tweet_id = database_id_of(id, "Tweet")
        reports = info.context.chirp.services.reports
        await reports.tweet(viewer, tweet_id, ReportReason(reason.value), comment)
        return True

    @strawberry.mutation(
        description="Report another account to the moderators: one open report of yours per "
        "account (ALREADY_REPORTED while it is open)."
    )
    async def report_user(
        self, info: Info, user_id: UserId, reason: Reason, comment: Comment = ""
    ) -> bool:
        viewer = info.context.require_viewer()
        target = database_id_of(user_id, "User", "userId")
        reports = info.context.chirp.services.reports
        await reports.user(viewer, target, ReportReason(reason.value), comment)
        return True

    @strawberry.mutation(
        description="Moderators only (FORBIDDEN for anyone else): act on a reported Tweet or "
        "User and close its open reports; the action is kept in the moderation log."
    )
    async def resolve_reports(
        self,
        info: Info,
        target_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The Tweet's or User's global id."),
        ],
        action: Annotated[ModerationAction, strawberry.argument(description="What to do.")],
        note: Annotated[
            str,
            strawberry.argument(description="Why: required, up to 1,000 characters."),
        ],
        suspend_for: Annotated[
            int | None,
            strawberry.argument(
                description="With SUSPEND only, and required then: seconds, 1 to 315360000 "
                "(ten years)."
            ),
        ] = None,
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
    async def mark_notifications_read(
        self,
        info: Info,
        up_to: Annotated[
            str | None,
            strawberry.argument(
                description="A notification's cursor: it and everything older are marked read."
            ),
        ] = None,
    ) -> int:
        viewer = info.context.require_viewer()
        position = decode_notification_cursor(up_to, viewer, "upTo")
        return await info.context.chirp.services.notifications.mark_read(viewer, position)
