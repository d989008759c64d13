"""Input types of the mutations."""

from __future__ import annotations

import strawberry

URL_FIELD = "An http:// or https:// URL, up to 255 characters; null or empty clears it."


@strawberry.input(description="A new account.")
class SignUpInput:
    username: str = strawberry.field(
        description="1 to 15 letters, digits or underscores, unique regardless of case."
    )
    email: str = strawberry.field(
        description="A valid email address, up to 255 characters; one account per address."
    )
    password: str = strawberry.field(description="8 to 1024 characters.")
    display_name: str | None = strawberry.field(
        default=None, description="Up to 50 characters; the username when left out or empty."
    )


@strawberry.input(description="A new tweet, reply or quote.")
class PostTweetInput:
    text: str = strawberry.field(
        description="Up to 280 characters after NFC normalization, newlines allowed; may be "
        "empty only with media. Its #hashtags, and up to 20 @mentions, are picked out of it."
    )
    reply_to_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The tweet this replies to (its id or databaseId): one the author may "
        "see, not a retweet.",
    )
    quote_of_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The tweet this quotes (its id or databaseId): one the author may see, "
        "not a retweet; a protected account's tweet is FORBIDDEN.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying with the same key creates the tweet only once; 1 to 64 characters.",
    )
    source: str | None = strawberry.field(
        default=None, description="The posting client's name, up to 64 characters."
    )
    language: str | None = strawberry.field(
        default=None,
        description="The text's language, a BCP 47 tag such as en or pt-BR (up to 16 characters).",
    )
    media_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Up to 4 media of your own, uploaded through createMediaUpload; "
        "NOT_FOUND for one not uploaded.",
    )


@strawberry.input(
    description="The profile fields to change: a field left out stays as it is; null or an "
    "empty string clears it (but not displayName)."
)
class UpdateProfileInput:
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 50 characters; cannot be cleared."
    )
    bio: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 160 characters, newlines allowed."
    )
    location: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 100 characters."
    )
    website: str | None = strawberry.field(default=strawberry.UNSET, description=URL_FIELD)
    profile_image_url: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"The avatar. {URL_FIELD}"
    )
    banner_image_url: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"The profile banner. {URL_FIELD}"
    )


@strawberry.input(
    description="The kinds to turn on (true) or off (false); a kind left out stays as it "
    "is, and null is refused."
)
class NotificationPreferencesInput:
    mention: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When a tweet mentions you."
    )
    reply: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone replies to your tweet."
    )
    quote: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone quotes your tweet."
    )
    like: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone likes your tweet."
    )
    retweet: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone retweets your tweet."
    )
    follow: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone follows you."
    )
    follow_request: bool | None = strawberry.field(
        default=strawberry.UNSET, description="When someone asks to follow your protected account."
    )
    follow_request_approved: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="When a protected account approves your follow request.",
    )


@strawberry.input(
    description="The settings to change: a field left out stays as it is; null is refused "
    "(BAD_USER_INPUT)."
)
class UpdateSettingsInput:
    language: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A BCP 47 language tag such as en or pt-BR, up to 10 characters.",
    )
    timezone: str | None = strawberry.field(
        default=strawberry.UNSET, description="1 to 50 characters, kept as given."
    )
    private_account: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true protects the account (new follows become requests); false opens it.",
    )
    allow_dms_from: str | None = strawberry.field(
        default=strawberry.UNSET, description="One of everyone, following or nobody."
    )
    notification_preferences: NotificationPreferencesInput | None = strawberry.field(
        default=strawberry.UNSET, description="The notification kinds to turn on or off."
    )
    privacy_settings: strawberry.scalars.JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="A JSON object of at most 4096 bytes and 8 levels, replacing the stored one.",
    )


def provided(value: object) -> dict[str, object]:
    """The fields of an input object that the client actually sent."""
    return {
        name: getattr(value, name)
        for name in value.__dataclass_fields__  # type: ignore[attr-defined]
        if getattr(value, name) is not strawberry.UNSET
    }
