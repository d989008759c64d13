"""PostgresUserStore and PostgresSessionStore over hashed logical shards."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from storage.errors import Conflict, NotFound
from storage.postgres.shards import Shards, driver_errors, fetch
from storage.records import (
    STAT_FIELDS,
    SessionRecord,
    UserRecord,
    UserSettings,
    UserStats,
    changed_stats,
    utcnow,
)

# A claim whose user row never appeared (its writer died in between) is free after this.
CLAIM_GRACE = timedelta(seconds=60)
REAP_EXPIRED = 100  # expired sessions forgotten per write, so used tokens do not pile up
_COLUMNS = (
    "user_id, username, email, phone, password_hash, display_name, bio, location, website, "
    "profile_image_url, banner_image_url, verified, protected, created_at, updated_at, "
    "last_login_at, suspended_until, pinned_tweet_id, deactivated_at"
)
PROFILE_FIELDS = frozenset(
    f.name for f in dataclasses.fields(UserRecord) if f.name not in {"id", "username", "email"}
)
SETTINGS_FIELDS = frozenset(f.name for f in dataclasses.fields(UserSettings)) - {"user_id"}
_JSON = {"notification_preferences", "privacy_settings"}


def _user(row: Mapping[str, Any]) -> UserRecord:
    values = dict(row)
    values["id"] = values.pop("user_id")
    return UserRecord(**values)


def _settings(row: Mapping[str, Any]) -> UserSettings:
    values = {name: row[name] for name in SETTINGS_FIELDS}
    for name in _JSON:
        values[name] = json.loads(values[name]) if isinstance(values[name], str) else values[name]
    return UserSettings(user_id=row["user_id"], **values)


def _assignments(changes: Mapping[str, Any], allowed: frozenset[str]) -> tuple[str, list[Any]]:
    """`a = $2, b = $3` for the changed columns; names come from a fixed list, never the caller."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    names = sorted(changes)
    sql = ", ".join(
        f"{name} = ${i}::jsonb" if name in _JSON else f"{name} = ${i}"
        for i, name in enumerate(names, start=2)
    )
    values = [json.dumps(changes[n]) if n in _JSON else changes[n] for n in names]
    return sql, values


class PostgresUserStore:
    def __init__(self, shards: Shards) -> None:
        self._shards = shards

    async def ping(self) -> None:
        await self._shards.ping()

    async def create(self, user: UserRecord) -> None:
        claimed: list[tuple[str, str]] = []
        try:
            for kind, value in (
                ("username", user.username),
                ("email", user.email),
                ("phone", user.phone),
            ):
                if value is None:
                    continue
                if not await self._claim(kind, value, user.id):
                    raise Conflict(kind)
                claimed.append((kind, value))
            await self._write(user)
        except BaseException:
            for kind, value in claimed:
                await self._release(kind, value, user.id)
            raise

    async def _write(self, user: UserRecord) -> None:
        names = [name.strip() for name in _COLUMNS.split(",")]
        values = [getattr(user, "id" if name == "user_id" else name) for name in names]
        marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        pool = self._shards.for_id(user.id)
        async with driver_errors("create user"), pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(f"INSERT INTO users ({_COLUMNS}) VALUES ({marks})", *values)
            except asyncpg.UniqueViolationError as error:
                field = "email" if "email" in str(error) else "username"
                raise Conflict(field) from None
            await conn.execute(
                "INSERT INTO user_stats (user_id, updated_at) VALUES ($1, $2)",
                user.id,
                user.created_at,
            )
            await conn.execute(
                "INSERT INTO user_settings (user_id, created_at, updated_at) VALUES ($1, $2, $2)",
                user.id,
                user.created_at,
            )

    async def _claim(self, kind: str, value: str, user_id: int) -> bool:
        key = value.casefold()
        pool = self._shards.for_key(key)
        async with driver_errors("claim"):
            won = await pool.fetchval(
                "INSERT INTO claims (kind, claim, user_id) VALUES ($1, $2, $3) "
                "ON CONFLICT (kind, claim) DO NOTHING RETURNING user_id",
                kind,
                key,
                user_id,
            )
            if won is not None:
                return True
            holder = await pool.fetchrow(
                "SELECT user_id, claimed_at FROM claims WHERE kind = $1 AND claim = $2", kind, key
            )
        if holder is None or holder["claimed_at"] > utcnow() - CLAIM_GRACE:
            return False
        [owner] = await self.get_many([holder["user_id"]])
        if owner is not None:
            return False
        # The holder never wrote its user row: take the name over, atomically.
        async with driver_errors("repair claim"):
            took = await pool.fetchval(
                "UPDATE claims SET user_id = $3, claimed_at = now() "
                "WHERE kind = $1 AND claim = $2 AND user_id = $4 RETURNING user_id",
                kind,
                key,
                user_id,
                holder["user_id"],
            )
        return took is not None

    async def _release(self, kind: str, value: str, user_id: int) -> None:
        key = value.casefold()
        async with driver_errors("release claim"):
            await self._shards.for_key(key).execute(
                "DELETE FROM claims WHERE kind = $1 AND claim = $2 AND user_id = $3",
                kind,
                key,
                user_id,
            )

    async def get_many(self, ids: Sequence[int]) -> list[UserRecord | None]:
        async def on_shard(pool: asyncpg.Pool, group: list[int]) -> list[Any]:
            return await fetch(pool, f"SELECT {_COLUMNS} FROM users WHERE user_id = ANY($1)", group)

        found = {row["user_id"]: _user(row) for row in await self._shards.by_id(ids, on_shard)}
        return [found.get(user_id) for user_id in ids]

    async def find_by_username(self, username: str) -> UserRecord | None:
        return await self._find("username", username)

    async def find_by_email(self, email: str) -> UserRecord | None:
        return await self._find("email", email)

    async def _find(self, kind: str, value: str) -> UserRecord | None:
        key = value.casefold()
        async with driver_errors("directory"):
            user_id = await self._shards.for_key(key).fetchval(
                "SELECT user_id FROM claims WHERE kind = $1 AND claim = $2", kind, key
            )
        if user_id is None:
            return None
        [user] = await self.get_many([user_id])
        if user is None or getattr(user, kind).casefold() != key:
            return None  # a claim whose user row is not (yet, or any more) there
        return user

    async def update_profile(self, user_id: int, changes: Mapping[str, Any]) -> UserRecord:
        changes = {"updated_at": utcnow(), **changes}
        assignments, values = _assignments(changes, PROFILE_FIELDS)
        async with driver_errors("update profile"):
            row = await self._shards.for_id(user_id).fetchrow(
                f"UPDATE users SET {assignments} WHERE user_id = $1 RETURNING {_COLUMNS}",
                user_id,
                *values,
            )
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def set_suspended(self, user_id: int, until: datetime | None) -> UserRecord:
        async with driver_errors("suspend"):
            row = await self._shards.for_id(user_id).fetchrow(
                f"UPDATE users SET suspended_until = $2 WHERE user_id = $1 RETURNING {_COLUMNS}",
                user_id,
                until,
            )
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def deactivate(self, user_id: int, at: datetime) -> UserRecord:
        return await self._set_deactivated(user_id, at)

    async def reactivate(self, user_id: int) -> UserRecord:
        return await self._set_deactivated(user_id, None)

    async def _set_deactivated(self, user_id: int, at: datetime | None) -> UserRecord:
        async with driver_errors("deactivate"):
            row = await self._shards.for_id(user_id).fetchrow(
                f"UPDATE users SET deactivated_at = $2 WHERE user_id = $1 RETURNING {_COLUMNS}",
                user_id,
                at,
            )
        if row is None:
            raise NotFound(f"user {user_id}")
        return _user(row)

    async def purge(self, user_id: int) -> bool:
        """The row (its stats and settings go with it, ON DELETE CASCADE), then its
        directory claims: a crash in between leaves claims whose user row is gone, which
        the next purge releases (and which `_claim` takes over after CLAIM_GRACE)."""
        [user] = await self.get_many([user_id])
        if user is not None:
            async with driver_errors("purge user"):
                status = await self._shards.for_id(user_id).execute(
                    "DELETE FROM users WHERE user_id = $1", user_id
                )
            for kind, value in (
                ("username", user.username),
                ("email", user.email),
                ("phone", user.phone),
            ):
                if value is not None:
                    await self._release(kind, value, user_id)
            return int(status.split()[-1]) > 0
        return False

    async def get_stats_many(self, ids: Sequence[int]) -> list[UserStats | None]:
        columns = ", ".join(STAT_FIELDS)

        async def on_shard(pool: asyncpg.Pool, group: list[int]) -> list[Any]:
            sql = f"SELECT user_id, {columns} FROM user_stats WHERE user_id = ANY($1)"
            return await fetch(pool, sql, group)

        rows = await self._shards.by_id(ids, on_shard)
        found = {row["user_id"]: UserStats(**dict(row)) for row in rows}
        return [found.get(user_id) for user_id in ids]

    async def add_to_stats(self, user_id: int, deltas: Mapping[str, int]) -> None:
        """Adds in SQL (`x = x + $n`): concurrent adds never lose one."""
        names = changed_stats(deltas)
        if not names:
            return
        assignments = ", ".join(f"{name} = {name} + ${i}" for i, name in enumerate(names, start=2))
        async with driver_errors("stats"):
            await self._shards.for_id(user_id).execute(
                f"UPDATE user_stats SET {assignments}, updated_at = now() WHERE user_id = $1",
                user_id,
                *(deltas[name] for name in names),
            )

    async def add_to_stats_many(self, deltas: Mapping[int, Mapping[str, int]]) -> None:
        """Per shard, one transaction that locks the rows in id order first (so two batches
        never deadlock), then adds in SQL from arrays, one element per user."""
        changed = {user_id: changed_stats(user_deltas) for user_id, user_deltas in deltas.items()}
        names = [name for name in STAT_FIELDS if any(name in c for c in changed.values())]
        ids = sorted(user_id for user_id, names_changed in changed.items() if names_changed)
        if not ids:
            return
        arrays = ", ".join(f"${i}::bigint[]" for i in range(2, len(names) + 2))
        sql = (
            f"UPDATE user_stats AS s SET {', '.join(f'{n} = s.{n} + d.{n}' for n in names)}, "
            f"updated_at = now() FROM unnest($1::bigint[], {arrays}) "
            f"AS d(user_id, {', '.join(names)}) WHERE s.user_id = d.user_id"
        )

        async def on_shard(pool: asyncpg.Pool, group: list[int]) -> list[None]:
            columns = [[deltas[user_id].get(name, 0) for user_id in group] for name in names]
            async with driver_errors("stats"), pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT 1 FROM user_stats WHERE user_id = ANY($1) ORDER BY user_id FOR UPDATE",
                    group,
                )
                await conn.execute(sql, group, *columns)
            return []

        await self._shards.by_id(ids, on_shard)

    async def ids_with_followers_over(self, threshold: int, limit: int) -> list[int]:
        async def on_shard(pool: asyncpg.Pool) -> list[Any]:
            return await fetch(
                pool,
                "SELECT user_id, followers_count FROM user_stats WHERE followers_count > $1 "
                "ORDER BY followers_count DESC, user_id LIMIT $2",
                threshold,
                limit,
            )

        rows = [row for rows in await self._shards.each(on_shard) for row in rows]
        rows.sort(key=lambda row: (-row["followers_count"], row["user_id"]))
        return [row["user_id"] for row in rows[:limit]]

    async def scan(self, after: int | None, limit: int) -> list[UserRecord]:
        """The lowest ids above `after` of each shard, merged: the lowest of them all."""

        async def on_shard(pool: asyncpg.Pool) -> list[Any]:
            return await fetch(
                pool,
                f"SELECT {_COLUMNS} FROM users WHERE user_id > $1 ORDER BY user_id LIMIT $2",
                after or 0,
                limit,
            )

        rows = [row for rows in await self._shards.each(on_shard) for row in rows]
        rows.sort(key=lambda row: row["user_id"])
        return [_user(row) for row in rows[:limit]]

    async def get_settings(self, user_id: int) -> UserSettings | None:
        async with driver_errors("settings"):
            row = await self._shards.for_id(user_id).fetchrow(
                "SELECT * FROM user_settings WHERE user_id = $1", user_id
            )
        return None if row is None else _settings(row)

    async def update_settings(self, user_id: int, changes: Mapping[str, Any]) -> UserSettings:
        assignments, values = _assignments(changes, SETTINGS_FIELDS)
        sql = (
            f"UPDATE user_settings SET {assignments}, updated_at = now() "
            "WHERE user_id = $1 RETURNING *"
            if assignments
            else "SELECT * FROM user_settings WHERE user_id = $1"
        )
        async with driver_errors("update settings"):
            row = await self._shards.for_id(user_id).fetchrow(sql, user_id, *values)
        if row is None:
            raise NotFound(f"settings of user {user_id}")
        return _settings(row)


class PostgresSessionStore:
    """Tokens live on the shard of their hash, since take() knows only that; a revoked
    family is remembered on the shard of its id."""

    def __init__(self, shards: Shards) -> None:
        self._shards = shards

    async def create(self, session: SessionRecord) -> None:
        async with driver_errors("create session"):
            await self._shards.for_key(session.token_hash).execute(
                "WITH added AS (INSERT INTO sessions "
                "(token_hash, user_id, expires_at, created_at, family_id) "
                "VALUES ($1, $2, $3, $4, $5)) "
                "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions "
                f"WHERE expires_at <= now() LIMIT {REAP_EXPIRED})",
                session.token_hash,
                session.user_id,
                session.expires_at,
                session.created_at,
                session.family_id,
            )

    async def take(self, token_hash: str) -> SessionRecord | None:
        """The UPDATE that marks the row used is the one that took it; anyone else reads the
        row already marked (a row lock orders two concurrent takes)."""
        pool = self._shards.for_key(token_hash)
        async with driver_errors("take session"):
            row = await pool.fetchrow(
                "UPDATE sessions SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL "
                "RETURNING user_id, expires_at, created_at, family_id, NULL AS used_at",
                token_hash,
            )
            if row is None:
                row = await pool.fetchrow(
                    "SELECT user_id, expires_at, created_at, family_id, used_at "
                    "FROM sessions WHERE token_hash = $1",
                    token_hash,
                )
        if row is None:
            return None
        return SessionRecord(
            token_hash=token_hash,
            user_id=row["user_id"],
            expires_at=row["expires_at"],
            created_at=row["created_at"],
            family_id=row["family_id"],
            used_at=row["used_at"],
        )

    async def revoke_family(self, family_id: int, remember_until: datetime) -> int:
        async with driver_errors("revoke session family"):
            await self._shards.for_id(family_id).execute(
                "WITH reaped AS (DELETE FROM revoked_session_families WHERE family_id IN "
                "(SELECT family_id FROM revoked_session_families WHERE revoked_until <= now() "
                f"AND family_id <> $1 LIMIT {REAP_EXPIRED})) "
                "INSERT INTO revoked_session_families (family_id, revoked_until) "
                "VALUES ($1, $2) ON CONFLICT (family_id) DO UPDATE "
                "SET revoked_until = GREATEST(revoked_session_families.revoked_until, "
                "excluded.revoked_until)",
                family_id,
                remember_until,
            )

        async def on_shard(pool: asyncpg.Pool) -> int:
            async with driver_errors("revoke session family"):
                status = await pool.execute("DELETE FROM sessions WHERE family_id = $1", family_id)
            return int(status.split()[-1])

        return sum(await self._shards.each(on_shard))

    async def revoked_families(self, family_ids: Sequence[int]) -> list[bool]:
        async def on_shard(pool: asyncpg.Pool, ids: list[int]) -> list[int]:
            rows = await fetch(
                pool,
                "SELECT family_id FROM revoked_session_families "
                "WHERE family_id = ANY($1) AND revoked_until > now()",
                ids,
            )
            return [row["family_id"] for row in rows]

        revoked = set(await self._shards.by_id(family_ids, on_shard))
        return [family_id in revoked for family_id in family_ids]

    async def revoke_user(self, user_id: int) -> int:
        async def on_shard(pool: asyncpg.Pool) -> int:
            async with driver_errors("revoke sessions"):
                status = await pool.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
            return int(status.split()[-1])

        return sum(await self._shards.each(on_shard))
