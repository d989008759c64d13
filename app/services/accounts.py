"""Accounts: sign up, log in, refresh and log out, profile and settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from app import text
from app.errors import BadInput, NotFoundError, Unauthenticated
from app.ids import SnowflakeGenerator, id_timestamp_ms
from app.jobs import Jobs
from app.jobs.index_users import IndexUsers
from app.passwords import hash_password, verify_password
from app.policy import Suspended, suspended
from app.readthrough import ReadThrough
from app.services.delete_account import AccountDeletions
from app.sessions import SessionRevocations
from app.tokens import AccessTokens, new_refresh_token, refresh_token_hash
from storage.errors import Conflict
from storage.ports import SessionStore, UserStore
from storage.records import (
    NOTIFICATION_KINDS,
    SessionRecord,
    UserRecord,
    UserSettings,
    utc_from_ms,
    utcnow,
)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
PROFILE_LIMITS = {
    "display_name": 50,
    "bio": 160,
    "location": 100,
    "website": 255,
    "profile_image_url": 255,
    "banner_image_url": 255,
}
URL_FIELDS = frozenset({"website", "profile_image_url", "banner_image_url"})
SEARCHED_FIELDS = frozenset({"display_name", "bio"})  # what people search holds
SETTINGS_LIMITS = {"language": 10, "timezone": 50}
MAX_SETTINGS_JSON_BYTES = 4096
JSON_SETTINGS = frozenset({"privacy_settings"})
ALLOW_DMS_FROM = ("everyone", "following", "nobody")
INVALID_LOGIN = "Invalid username or password."
INVALID_REFRESH = "The refresh token is not valid; log in again."


@dataclass(frozen=True)
class Session:
    user: UserRecord
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token is honoured from now (OAuth's expires_in)


class SessionOpener:
    """Issues a refresh token and an access token: for a new session at log-in, or the next
    pair of an existing session (its family) when a refresh token is rotated."""

    def __init__(
        self, sessions: SessionStore, tokens: AccessTokens, ids: SnowflakeGenerator, ttl_s: int
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._ids = ids
        self._ttl_s = ttl_s

    async def open(self, user: UserRecord, family_id: int | None = None) -> Session:
        family_id = self._ids.next_id() if family_id is None else family_id
        refresh = new_refresh_token()
        now = utcnow()
        await self._sessions.create(
            SessionRecord(
                token_hash=refresh_token_hash(refresh),
                user_id=user.id,
                expires_at=now + timedelta(seconds=self._ttl_s),
                created_at=now,
                family_id=family_id,
            )
        )
        access = self._tokens.issue(user.id, family_id)
        return Session(
            user=user,
            access_token=access,
            refresh_token=refresh,
            expires_in=self._tokens.ttl_s,
        )


class SignUp:
    def __init__(
        self, users: UserStore, ids: SnowflakeGenerator, sessions: SessionOpener, jobs: Jobs
    ) -> None:
        self._users = users
        self._ids = ids
        self._sessions = sessions
        self._jobs = jobs

    async def __call__(
        self, username: str, email: str, password: str, display_name: str | None
    ) -> Session:
        username, email = username.strip(), email.strip()
        self._validate(username, email, password)
        user_id = self._ids.next_id()
        created_at = utc_from_ms(id_timestamp_ms(user_id))
        user = UserRecord(
            id=user_id,
            username=username,
            email=email,
            password_hash=await hash_password(password),
            display_name=_profile_text("display_name", (display_name or "").strip() or username),
            created_at=created_at,
            updated_at=created_at,
        )
        try:
            await self._users.create(user)
        except Conflict as taken:
            raise BadInput(f"That {taken.field} is already taken.", field=taken.field) from None
        await self._jobs.enqueue(IndexUsers, {"user_id": user.id})  # people search
        return await self._sessions.open(user)

    @staticmethod
    def _validate(username: str, email: str, password: str) -> None:
        if not text.USERNAME_RE.match(username):
            raise BadInput(
                "A username is 1 to 15 letters, digits or underscores.", field="username"
            )
        if len(email) > 255 or not text.EMAIL_RE.match(text.checked(email, "email")):
            raise BadInput("That is not a valid email address.", field="email")
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise BadInput(
                f"A password has at least {MIN_PASSWORD_LENGTH} characters.", field="password"
            )


def refuse_suspended(user: UserRecord) -> None:
    if suspended(user) and user.suspended_until is not None:
        until = user.suspended_until.isoformat()
        raise Suspended(f"This account is suspended until {until}.", until=until)


class LogIn:
    """A deleted account logging in within the cancel window gets it back (see
    app/services/delete_account.py); past it, ACCOUNT_DELETED."""

    def __init__(
        self, users: UserStore, sessions: SessionOpener, deletions: AccountDeletions
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._deletions = deletions

    async def __call__(self, login: str, password: str) -> Session:
        login = text.checked(login.strip(), "login", kind="argument")
        user = None
        if login and len(login) <= 255:
            finder = self._users.find_by_email if "@" in login else self._users.find_by_username
            user = await finder(login)
        # Verify even for an unknown user, so both failures take the same time.
        valid = await verify_password(user.password_hash if user else None, password)
        if user is None or not valid:
            raise Unauthenticated(INVALID_LOGIN)
        refuse_suspended(user)
        await self._deletions.on_log_in(user)
        user = await self._users.update_profile(user.id, {"last_login_at": utcnow()})
        return await self._sessions.open(user)


class RefreshSession:
    """Rotates the refresh token: the old one is used up and the next of its family issued.
    A used one presented again was stolen or replayed, so its whole family is revoked
    (OAuth 2.0 Security BCP): the thief's tokens and the client's stop working alike."""

    def __init__(
        self,
        users: UserStore,
        store: SessionStore,
        sessions: SessionOpener,
        revocations: SessionRevocations,
    ) -> None:
        self._users = users
        self._store = store
        self._sessions = sessions
        self._revocations = revocations

    async def __call__(self, refresh_token: str) -> Session:
        record = await self._store.take(refresh_token_hash(refresh_token))
        if record is None:
            raise Unauthenticated(INVALID_REFRESH)
        if record.used_at is not None:
            await self._revocations.revoke(record.family_id)
            raise Unauthenticated(INVALID_REFRESH)
        if record.expires_at <= utcnow() or await self._revocations.revoked(record.family_id):
            raise Unauthenticated(INVALID_REFRESH)
        [user] = await self._users.get_many([record.user_id])
        if user is None:
            raise Unauthenticated(INVALID_REFRESH)
        refuse_suspended(user)
        return await self._sessions.open(user, record.family_id)


class LogOut:
    """Ends the session (the whole family) of a refresh token; its access tokens stop working
    too. True when the token was live."""

    def __init__(self, store: SessionStore, revocations: SessionRevocations) -> None:
        self._store = store
        self._revocations = revocations

    async def __call__(self, refresh_token: str) -> bool:
        record = await self._store.take(refresh_token_hash(refresh_token))
        if record is None:
            return False
        await self._revocations.revoke(record.family_id)
        return record.used_at is None and record.expires_at > utcnow()


class UpdateProfile:
    def __init__(self, users: UserStore, user_cache: ReadThrough[UserRecord], jobs: Jobs) -> None:
        self._users = users
        self._user_cache = user_cache
        self._jobs = jobs

    async def __call__(self, user_id: int, changes: Mapping[str, str | None]) -> UserRecord:
        cleaned: dict[str, Any] = {}
        for field, value in changes.items():
            if field not in PROFILE_LIMITS:
                raise BadInput(f"{field} cannot be changed here.", field=field)
            value = value.strip() if value is not None else None
            if field == "display_name" and not value:
                raise BadInput("A display name cannot be empty.", field=field)
            cleaned[field] = _profile_text(field, value) if value else None
        cleaned["updated_at"] = utcnow()
        user = await self._users.update_profile(user_id, cleaned)
        await self._user_cache.invalidate([user_id])
        if cleaned.keys() & SEARCHED_FIELDS:
            await self._jobs.enqueue(IndexUsers, {"user_id": user_id})
        return user


class UpdateSettings:
    """user_settings; `private_account` also protects the account (users.protected)."""

    def __init__(self, users: UserStore, user_cache: ReadThrough[UserRecord]) -> None:
        self._users = users
        self._user_cache = user_cache

    async def __call__(self, user_id: int, changes: Mapping[str, Any]) -> UserSettings:
        cleaned = {field: _setting(field, value) for field, value in changes.items()}
        current = await self._users.get_settings(user_id)
        if current is None:
            raise NotFoundError("No such user.")
        if "notification_preferences" in cleaned:  # the kinds sent change, the others stay
            cleaned["notification_preferences"] = notification_preferences(
                {**current.notification_preferences, **cleaned["notification_preferences"]}
            )
        settings = await self._users.update_settings(user_id, cleaned)
        if "private_account" in cleaned:
            await self._users.update_profile(
                user_id, {"protected": bool(cleaned["private_account"]), "updated_at": utcnow()}
            )
            await self._user_cache.invalidate([user_id])
        return settings


def _profile_text(field: str, value: str) -> str:
    limit = PROFILE_LIMITS[field]
    if field in URL_FIELDS:
        return text.http_url(value, field, limit)
    return text.checked(value, field, multiline=field == "bio", max_length=limit)


def _setting(field: str, value: Any) -> Any:
    """Every setting has a value: null is refused (leaving a field out keeps it)."""
    if value is None:
        raise BadInput(f"{field} cannot be null; leave it out to keep it as it is.", field=field)
    if field == "language":
        return text.language_tag(value, field, SETTINGS_LIMITS[field])
    if field == "timezone":
        value = text.checked(value, field, max_length=SETTINGS_LIMITS[field])
        if not value:
            raise BadInput(f"{field} is 1 to {SETTINGS_LIMITS[field]} characters.", field=field)
    if field == "allow_dms_from" and value not in ALLOW_DMS_FROM:
        raise BadInput(f"allowDmsFrom is one of {', '.join(ALLOW_DMS_FROM)}.", field=field)
    if field in JSON_SETTINGS:
        return text.json_object(value, field, MAX_SETTINGS_JSON_BYTES)
    if field == "notification_preferences":
        for kind, on in value.items():
            if kind not in NOTIFICATION_KINDS or not isinstance(on, bool):
                raise BadInput(
                    f"notificationPreferences.{kind} must be true or false.", field=field
                )
    return value


def notification_preferences(stored: Mapping[str, Any]) -> dict[str, bool]:
    """The preferences as kept: a bool for each known kind that is set (a kind left out is
    on); anything else a stored value holds (from the free-form JSON days) is dropped."""
    return {
        kind: on
        for kind, on in stored.items()
        if kind in NOTIFICATION_KINDS and isinstance(on, bool)
    }
