"""SqliteUserStore and SqliteSessionStore: users, user_stats, user_settings, sessions."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.errors import NotFound
from storage.records import (
    STAT_FIELDS,
    SessionRecord,
    UserRecord,
    UserSettings,
    UserStats,
    changed_stats,
    ms_from_utc,
    utc_from_ms,
    utcnow,
)
from storage.sqlite.database import (
    MAX_VARIABLES,
    SqliteDatabase,
    Tx,
    chunked,
    placeholders,
)

_USER_COLUMNS = (
    "user_id, username, email, phone, password_hash, display_name, bio, location, website, "
    "profile_image_url, banner_image_url, verified, protected, created_at, updated_at, "
    "last_login_at, suspended_until, pinned_tweet_id, deactivated_at"
)
_TIME_FIELDS = {"created_at", "updated_at", "last_login_at", "suspended_until", "deactivated_at"}
# Fields update_profile may change; id, username and email are claims, not profile.
PROFILE_FIELDS = frozenset(
    f.name for f in dataclasses.fields(UserRecord) if f.name not in {"id", "username", "email"}
)
SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(UserSettings)) - {"user_id"}
_JSON_SETTINGS = {"notification_preferences", "privacy_settings"}
REAP_EXPIRED = 100  # expired sessions forgotten per write, so used tokens do not pile up


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else ms_from_utc(moment)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else utc_from_ms(ms)


def _user(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        id=row["user_id"],
        username=row["username"],
        email=row["email"],
        phone=row["phone"],
        password_hash=row["password_hash"],
        display_name=row["display_name"],
        bio=row["bio"],
        location=row["location"],
        website=row["website"],
        profile_image_url=row["profile_image_url"],
        banner_image_url=row["banner_image_url"],
        verified=bool(row["verified"]),
        protected=bool(row["protected"]),
        created_at=utc_from_ms(row["created_at"]),
        updated_at=utc_from_ms(row["updated_at"]),
        last_login_at=_moment(row["last_login_at"]),
        suspended_until=_moment(row["suspended_until"]),
        pinned_tweet_id=row["pinned_tweet_id"],
        deactivated_at=_moment(row["deactivated_at"]),
    )


def _settings(row: sqlite3.Row) -> UserSettings:
    return UserSettings(
        user_id=row["user_id"],
        language=row["language"],
        timezone=row["timezone"],
        private_account=bool(row["private_account"]),
        allow_dms_from=row["allow_dms_from"],
        notification_preferences=json.loads(row["notification_preferences"]),
        privacy_settings=json.loads(row["privacy_settings"]),
    )


def _column_value(name: str, value: Any) -> Any:
    if name in _TIME_FIELDS:
        return _ms(value)
    if name in _JSON_SETTINGS:
        return json.dumps(value)
    return value


def _assignments(changes: Mapping[str, Any], allowed: frozenset[str]) -> tuple[str, list[Any]]:
    """`a = ?, b = ?` for the changed columns; names come from a fixed list, never the caller."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    names = sorted(changes)
    return ", ".join(f"{name} = ?" for name in names), [
        _column_value(name, changes[name]) for name in names
    ]


class SqliteUserStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def ping(self) -> None:
        async with self._db.read() as tx:
            await tx.row("SELECT 1")

    async def create(self, user: UserRecord) -> None:
        values = [
            user.id, user.username, user.email, user.phone, user.password_hash,
            user.display_name, user.bio, user.location, user.website, user.profile_image_url,
            user.banner_image_url, user.verified, user.protected, _ms(user.created_at),
            _ms(user.updated_at), _ms(user.last_login_at), _ms(user.suspended_until),
            user.pinned_tweet_id, _ms(user.deactivated_at),
        ]  # fmt: skip
        now = ms_from_utc(user.created_at)
        async with self._db.write() as tx:
            # A unique index failure raises Conflict("username" | "email" | "phone").
            await tx.run(f"INSERT INTO users ({_USER_COLUMNS}) VALUES ({placeholders(19)})", values)
            await tx.run(
                "INSERT INTO user_stats (user_id, updated_at) VALUES (?, ?)", (user.id, now)
            )
            await tx.run(
                "INSERT INTO user_settings (user_id, created_at, updated_at) VALUES (?, ?, ?)",
                (user.id, now, now),
            )

    async def get_many(self, ids: Sequence[int]) -> list[UserRecord | None]:
        found: dict[int, UserRecord] = {}
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(ids))):
                marks = placeholders(len(chunk))
                sql = f"SELECT {_USER_COLUMNS} FROM users WHERE user_id IN ({marks})"
                for row in await tx.rows(sql, chunk):
                    found[row["user_id"]] = _user(row)
        return [found.get(user_id) for user_id in ids]

    async def find_by_username(self, username: str) -> UserRecord | None:
        return await self._find_one("username", username)

    async def find_by_email(self, email: str) -> UserRecord | None:
        return await self._find_one("email", email)

    async def _find_one(self, column: str, value: str) -> UserRecord | None:
        async with self._db.read() as tx:
            sql = f"SELECT {_USER_COLUMNS} FROM users WHERE {column} = ? COLLATE NOCASE"
            row = await tx.row(sql, (value,))
        return None if row is None else _user(row)

    async def update_profile(self, user_id: int, changes: Mapping[str, Any]) -> UserRecord:
        changes = {"updated_at": utcnow(), **changes}
        assignments, values = _assignments(changes, PROFILE_FIELDS)
        async with self._db.write() as tx:
            await tx.run(f"UPDATE users SET {assignments} WHERE user_id = ?", [*values, user_id])
            row = await tx.row(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def set_suspended(self, user_id: int, until: datetime | None) -> UserRecord:
        async with self._db.write() as tx:
            await tx.run(
                "UPDATE users SET suspended_until = ? WHERE user_id = ?", (_ms(until), user_id)
            )
            row = await tx.row(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def deactivate(self, user_id: int, at: datetime) -> UserRecord:
        return await self._set_deactivated(user_id, at)

    async def reactivate(self, user_id: int) -> UserRecord:
        return await self._set_deactivated(user_id, None)

    async def _set_deactivated(self, user_id: int, at: datetime | None) -> UserRecord:
        async with self._db.write() as tx:
            await tx.run(
                "UPDATE users SET deactivated_at = ? WHERE user_id = ?", (_ms(at), user_id)
            )
            row = await tx.row(f"SELECT {_USER_COLUMNS} FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def purge(self, user_id: int) -> bool:
        """The row, its stats and settings in one transaction; the unique indexes on
        username and email are the claims, so they are free at once."""
        async with self._db.write() as tx:
            await tx.run("DELETE FROM user_stats WHERE user_id = ?", (user_id,))
            await tx.run("DELETE FROM user_settings WHERE user_id = ?", (user_id,))
            return await tx.run("DELETE FROM users WHERE user_id = ?", (user_id,)) > 0

    async def get_stats_many(self, ids: Sequence[int]) -> list[UserStats | None]:
        found: dict[int, UserStats] = {}
        columns = ", ".join(STAT_FIELDS)
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(ids))):
                sql = (
                    f"SELECT user_id, {columns} FROM user_stats "
                    f"WHERE user_id IN ({placeholders(len(chunk))})"
                )
                for row in await tx.rows(sql, chunk):
                    found[row["user_id"]] = UserStats(**dict(row))
        return [found.get(user_id) for user_id in ids]

    async def add_to_stats(self, user_id: int, deltas: Mapping[str, int]) -> None:
        """Adds in SQL (`x = x + ?`), so concurrent adds never lose one. A user without a
        stats row is ignored: counts are eventually consistent and never block a write."""
        await self.add_to_stats_many({user_id: deltas})

    async def add_to_stats_many(self, deltas: Mapping[int, Mapping[str, int]]) -> None:
        """One transaction, one statement per set of counters changed."""
        now = ms_from_utc(utcnow())
        rows: dict[tuple[str, ...], list[list[int]]] = defaultdict(list)
        for user_id, user_deltas in deltas.items():
            names = changed_stats(user_deltas)
            if names:
                rows[names].append([*(user_deltas[name] for name in names), now, user_id])
        if not rows:
            return
        async with self._db.write() as tx:
            for names, values in rows.items():
                assignments = ", ".join(f"{name} = {name} + ?" for name in names)
                await tx.run_many(
                    f"UPDATE user_stats SET {assignments}, updated_at = ? WHERE user_id = ?",
                    values,
                )

    async def ids_with_followers_over(self, threshold: int, limit: int) -> list[int]:
        async with self._db.read() as tx:  # idx_user_stats_followers_count answers this
            rows = await tx.rows(
                "SELECT user_id FROM user_stats WHERE followers_count > ? "
                "ORDER BY followers_count DESC, user_id LIMIT ?",
                (threshold, limit),
            )
        return [row["user_id"] for row in rows]

    async def scan(self, after: int | None, limit: int) -> list[UserRecord]:
        async with self._db.read() as tx:
            rows = await tx.rows(
                f"SELECT {_USER_COLUMNS} FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?",
                (after or 0, limit),
            )
        return [_user(row) for row in rows]

    async def get_settings(self, user_id: int) -> UserSettings | None:
        async with self._db.read() as tx:
            row = await _settings_row(tx, user_id)
        return None if row is None else _settings(row)

    async def update_settings(self, user_id: int, changes: Mapping[str, Any]) -> UserSettings:
        assignments, values = _assignments(changes, SETTINGS_FIELDS)
        async with self._db.write() as tx:
            if assignments:
                await tx.run(
                    f"UPDATE user_settings SET {assignments}, updated_at = ? WHERE user_id = ?",
                    [*values, ms_from_utc(utcnow()), user_id],
                )
            row = await _settings_row(tx, user_id)
        if row is None:
            raise NotFound(f"settings of user {user_id}")
        return _settings(row)


async def _settings_row(tx: Tx, user_id: int) -> sqlite3.Row | None:
    return await tx.row("SELECT * FROM user_settings WHERE user_id = ?", (user_id,))


class SqliteSessionStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def create(self, session: SessionRecord) -> None:
        now = ms_from_utc(utcnow())
        async with self._db.write() as tx:
            await tx.run(
                "INSERT INTO sessions (token_hash, user_id, expires_at, created_at, family_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.user_id,
                    ms_from_utc(session.expires_at),
                    ms_from_utc(session.created_at),
                    session.family_id,
                ),
            )
            await tx.run(
                "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions "
                f"WHERE expires_at <= ? LIMIT {REAP_EXPIRED})",
                (now,),
            )

    async def take(self, token_hash: str) -> SessionRecord | None:
        """Expired sessions are returned too (until reaped); the caller checks expires_at."""
        async with self._db.write() as tx:  # the write lock makes the read and mark one step
            row = await tx.row("SELECT * FROM sessions WHERE token_hash = ?", (token_hash,))
            if row is not None and row["used_at"] is None:
                await tx.run(
                    "UPDATE sessions SET used_at = ? WHERE token_hash = ?",
                    (ms_from_utc(utcnow()), token_hash),
                )
        if row is None:
            return None
        return SessionRecord(
            token_hash=token_hash,
            user_id=row["user_id"],
            expires_at=utc_from_ms(row["expires_at"]),
            created_at=utc_from_ms(row["created_at"]),
            family_id=row["family_id"],
            used_at=None if row["used_at"] is None else utc_from_ms(row["used_at"]),
        )

    async def revoke_family(self, family_id: int, remember_until: datetime) -> int:
        async with self._db.write() as tx:
            await tx.run(
                "INSERT INTO revoked_session_families (family_id, revoked_until) VALUES (?, ?) "
                "ON CONFLICT (family_id) DO UPDATE "
                "SET revoked_until = max(revoked_until, excluded.revoked_until)",
                (family_id, ms_from_utc(remember_until)),
            )
            await tx.run(
                "DELETE FROM revoked_session_families WHERE family_id IN (SELECT family_id "
                f"FROM revoked_session_families WHERE revoked_until <= ? LIMIT {REAP_EXPIRED})",
                (ms_from_utc(utcnow()),),
            )
            return await tx.run("DELETE FROM sessions WHERE family_id = ?", (family_id,))

    async def revoked_families(self, family_ids: Sequence[int]) -> list[bool]:
        now = ms_from_utc(utcnow())
        revoked: set[int] = set()
        async with self._db.read() as tx:
            for chunk in chunked(list(dict.fromkeys(family_ids)), MAX_VARIABLES - 1):
                rows = await tx.rows(
                    "SELECT family_id FROM revoked_session_families "
                    f"WHERE family_id IN ({placeholders(len(chunk))}) AND revoked_until > ?",
                    [*chunk, now],
                )
                revoked.update(row["family_id"] for row in rows)
        return [family_id in revoked for family_id in family_ids]

    async def revoke_user(self, user_id: int) -> int:
        async with self._db.write() as tx:
            return await tx.run("DELETE FROM sessions WHERE user_id = ?", (user_id,))
