"""SqliteFollowGraph: followers and following, written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.records import FollowEdge, ms_from_utc, utc_from_ms
from storage.sqlite.database import MAX_VARIABLES, SqliteDatabase, Tx, chunked


class SqliteFollowGraph:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def follow(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        moment = ms_from_utc(at)
        async with self._db.write() as tx:
            # `following` decides whether the edge is new; `followers` mirrors it.
            added = await tx.run(
                "INSERT OR IGNORE INTO following (user_id, following_id, followed_at) "
                "VALUES (?, ?, ?)",
                (follower_id, followee_id, moment),
            )
            if added:
                await tx.run(
                    "INSERT OR REPLACE INTO followers (user_id, follower_id, followed_at) "
                    "VALUES (?, ?, ?)",
                    (followee_id, follower_id, moment),
                )
        return added == 1

    async def follow_many(self, edges: Sequence[tuple[int, int]], at: datetime) -> list[bool]:
        """One transaction: which edges exist is read under the write lock, so no writer can
        slip in between the read and the inserts."""
        moment = ms_from_utc(at)
        async with self._db.write() as tx:
            present = await _pairs_present(tx, "following", "user_id", "following_id", edges)
            new = []
            for pair in edges:
                new.append(pair not in present)
                present.add(pair)  # a pair repeated in `edges` is new once
            added = [pair for pair, is_new in zip(edges, new, strict=True) if is_new]
            await tx.run_many(
                "INSERT INTO following (user_id, following_id, followed_at) VALUES (?, ?, ?)",
                [(follower, followee, moment) for follower, followee in added],
            )
            await tx.run_many(
                "INSERT OR REPLACE INTO followers (user_id, follower_id, followed_at) "
                "VALUES (?, ?, ?)",
                [(followee, follower, moment) for follower, followee in added],
            )
        return new

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM following WHERE user_id = ? AND following_id = ?",
                (follower_id, followee_id),
            )
            await tx.run(
                "DELETE FROM followers WHERE user_id = ? AND follower_id = ?",
                (followee_id, follower_id),
            )
        return removed == 1

    async def followers_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page("followers", "follower_id", user_id, limit, after)

    async def following_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page("following", "following_id", user_id, limit, after)

    async def requests_page(
        self, followee_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page(
            "follow_requests", "follower_id", followee_id, limit, after, "requested_at"
        )

    async def request(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        async with self._db.write() as tx:
            added = await tx.run(
                "INSERT OR IGNORE INTO follow_requests (user_id, follower_id, requested_at) "
                "VALUES (?, ?, ?)",
                (followee_id, follower_id, ms_from_utc(at)),
            )
        return added == 1

    async def withdraw_request(self, follower_id: int, followee_id: int) -> bool:
        async with self._db.write() as tx:
            removed = await tx.run(
                "DELETE FROM follow_requests WHERE user_id = ? AND follower_id = ?",
                (followee_id, follower_id),
            )
        return removed == 1

    async def has_requested_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        # follow_requests is keyed (followee, follower): flip each pair.
        flipped = [(followee, follower) for follower, followee in pairs]
        async with self._db.read() as tx:
            found = await _pairs_present(tx, "follow_requests", "user_id", "follower_id", flipped)
        return [pair in found for pair in flipped]

    async def _page(
        self,
        table: str,
        other: str,
        user_id: int,
        limit: int,
        after: int | None,
        at_column: str = "followed_at",
    ) -> list[FollowEdge]:
        if limit <= 0:
            return []
        sql = (
            f"SELECT {other} AS other_id, {at_column} AS followed_at FROM {table} "
            f"WHERE user_id = ? AND {other} > ? ORDER BY {other} LIMIT ?"
        )
        # Snowflake ids are positive, so -1 starts before the first.
        params = (user_id, -1 if after is None else after, limit)
        async with self._db.read() as tx:
            rows = await tx.rows(sql, params)
        return [
            FollowEdge(user_id, row["other_id"], utc_from_ms(row["followed_at"])) for row in rows
        ]

    async def is_following_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        async with self._db.read() as tx:
            found = await _pairs_present(tx, "following", "user_id", "following_id", pairs)
        return [pair in found for pair in pairs]


async def _pairs_present(
    tx: Tx, table: str, first: str, second: str, pairs: Sequence[tuple[int, int]]
) -> set[tuple[int, int]]:
    """A join with the pairs as a table, not `(a, b) IN (VALUES ...)`: SQLite answers that IN
    with a scan of the whole table, the join with one primary-key lookup per pair."""
    found: set[tuple[int, int]] = set()
    for chunk in chunked(list(dict.fromkeys(pairs)), MAX_VARIABLES // 2):
        values = ",".join("(?, ?)" for _ in chunk)
        sql = (
            f"WITH wanted (a, b) AS (VALUES {values}) "
            f"SELECT t.{first} AS a, t.{second} AS b FROM wanted "
            f"JOIN {table} AS t ON t.{first} = wanted.a AND t.{second} = wanted.b"
        )
        params = [value for pair in chunk for value in pair]
        for row in await tx.rows(sql, params):
            found.add((row["a"], row["b"]))
    return found
