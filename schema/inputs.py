"""Input types of the mutations."""

from __future__ import annotations

import strawberry


@strawberry.input
class SignUpInput:
    username: str
    email: str
    password: str
    display_name: str | None = None


@strawberry.input
class PostTweetInput:
    text: str
    reply_to_id: strawberry.ID | None = None
    quote_of_id: strawberry.ID | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key creates the tweet only once."
    )
    source: str | None = None
    language: str | None = None
    media_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Up to 4 uploaded media (createMediaUpload)."
    )


@strawberry.input
class UpdateProfileInput:
    display_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    profile_image_url: str | None = strawberry.UNSET
    banner_image_url: str | None = strawberry.UNSET


@strawberry.input(description="The kinds to turn on (true) or off (false); others stay.")
class NotificationPreferencesInput:
    mention: bool | None = strawberry.UNSET
    reply: bool | None = strawberry.UNSET
    quote: bool | None = strawberry.UNSET
    like: bool | None = strawberry.UNSET
    retweet: bool | None = strawberry.UNSET
    follow: bool | None = strawberry.UNSET
    follow_request: bool | None = strawberry.UNSET
    follow_request_approved: bool | None = strawberry.UNSET


@strawberry.input
class UpdateSettingsInput:
    language: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    private_account: bool | None = strawberry.UNSET
    allow_dms_from: str | None = strawberry.UNSET
    notification_preferences: NotificationPreferencesInput | None = strawberry.UNSET
    privacy_settings: strawberry.scalars.JSON | None = strawberry.UNSET


def provided(value: object) -> dict[str, object]:
    """The fields of an input object that the client actually sent."""
    return {
        name: getattr(value, name)
        for name in value.__dataclass_fields__  # type: ignore[attr-defined]
        if getattr(value, name) is not strawberry.UNSET
    }
