"""Sessions and settings."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from schema.user import User
from storage.records import UserSettings


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    user: User


@strawberry.type(name="UserSettings")
class Settings:
    language: str
    timezone: str
    private_account: bool
    allow_dms_from: str
    notification_preferences: JSON
    privacy_settings: JSON

    @classmethod
    def from_record(cls, record: UserSettings) -> Settings:
        return cls(
            language=record.language,
            timezone=record.timezone,
            private_account=record.private_account,
            allow_dms_from=record.allow_dms_from,
            notification_preferences=cast(JSON, record.notification_preferences),
            privacy_settings=cast(JSON, record.privacy_settings),
        )
