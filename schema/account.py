"""Sessions and settings."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from app.services.accounts import notification_preferences
from schema.user import User
from storage.records import NOTIFICATION_KINDS, UserSettings


@strawberry.type(description="A session: the tokens to send, and the account they act for.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="Send it as `Authorization: Bearer <token>` over HTTP, or as `token` in "
        "the websocket's connection_init payload; it works for 15 minutes by default."
    )
    refresh_token: str = strawberry.field(
        description="Trade it once with `refreshToken` for a new pair (it lasts 30 days by "
        "default); a refresh token used twice ends the whole session. Keep it secret."
    )
    expires_in: int = strawberry.field(
        description="Seconds from now until the access token expires (OAuth's `expires_in`): "
        "refresh a little before then, so no request is sent with an expired token (it runs "
        "as if logged out, and fields that need a viewer answer UNAUTHENTICATED)."
    )
    user: User = strawberry.field(description="The account logged in.")


@strawberry.type(description="Which notifications you get; each kind is on unless turned off.")
class NotificationPreferences:
    mention: bool = strawberry.field(description="When a tweet mentions you.")
    reply: bool = strawberry.field(description="When someone replies to your tweet.")
    quote: bool = strawberry.field(description="When someone quotes your tweet.")
    like: bool = strawberry.field(description="When someone likes your tweet.")
    retweet: bool = strawberry.field(description="When someone retweets your tweet.")
    follow: bool = strawberry.field(description="When someone follows you.")
    follow_request: bool = strawberry.field(
        description="When someone asks to follow your protected account."
    )
    follow_request_approved: bool = strawberry.field(
        description="When a protected account approves your follow request."
    )

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> NotificationPreferences:
        kept = notification_preferences(stored)
        return cls(**{kind: kept.get(kind, True) for kind in NOTIFICATION_KINDS})


@strawberry.type(
    name="UserSettings",
    description="The logged-in user's settings (`settings`), changed with updateSettings.",
)
class Settings:
    language: str = strawberry.field(
        description="The preferred language, a BCP 47 tag such as en or pt-BR (en by default)."
    )
    timezone: str = strawberry.field(
        description="The user's time zone as they set it (UTC by default), for clients to "
        "show times in; every DateTime the API returns is in UTC."
    )
    private_account: bool = strawberry.field(
        description="Whether the account is protected (`User.protected`): its tweets reach "
        "only approved followers."
    )
    allow_dms_from: str = strawberry.field(
        description="Who may send direct messages: everyone, following or nobody (following "
        "by default). Kept for clients; Chirp has no direct messages yet."
    )
    notification_preferences: NotificationPreferences = strawberry.field(
        description="Which notifications you get."
    )
    privacy_settings: JSON = strawberry.field(
        description="A JSON object a client keeps here as it likes (at most 4096 bytes); "
        "the server stores it and reads nothing in it."
    )

    @classmethod
    def from_record(cls, record: UserSettings) -> Settings:
        return cls(
            language=record.language,
            timezone=record.timezone,
            private_account=record.private_account,
            allow_dms_from=record.allow_dms_from,
            notification_preferences=NotificationPreferences.from_stored(
                record.notification_preferences
            ),
            privacy_settings=cast(JSON, record.privacy_settings),
        )
