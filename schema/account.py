"""Sessions and settings."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from app.services.accounts import notification_preferences
from schema.user import User
from storage.records import NOTIFICATION_KINDS, UserSettings


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    user: User


@strawberry.type(description="Which notifications you get; each kind is on unless turned off.")
class NotificationPreferences:
    mention: bool
    reply: bool
    quote: bool
    like: bool
    retweet: bool
    follow: bool
    follow_request: bool
    follow_request_approved: bool

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> NotificationPreferences:
        kept = notification_preferences(stored)
        return cls(**{kind: kept.get(kind, True) for kind in NOTIFICATION_KINDS})


@strawberry.type(name="UserSettings")
class Settings:
    language: str
    timezone: str
    private_account: bool
    allow_dms_from: str
    notification_preferences: NotificationPreferences
    privacy_settings: JSON

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
