"""CassandraFollowGraph: `following` decides (a lightweight transaction, so a repeated or
concurrent follow is new exactly once) and `followers` mirrors it; follow requests alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from storage.cassandra.session import CassandraSession, gather, utc
from storage.records import FollowEdge


class CassandraFollowGraph:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def follow(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.following (user_id, following_id, followed_at) "
            "VALUES (?, ?, ?) IF NOT EXISTS",
            (follower_id, followee_id, at),
        )
        if added:
            await self._db.run(
                "INSERT INTO {ks}.followers (user_id, follower_id, followed_at) VALUES (?, ?, ?)",
                (followee_id, follower_id, at),
            )
        return added

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.following WHERE user_id = ? AND following_id = ? IF EXISTS",
            (follower_id, followee_id),
        )
        await self._db.run(
            "DELETE FROM {ks}.followers WHERE user_id = ? AND follower_id = ?",
            (followee_id, follower_id),
        )
        return removed

    async def followers_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page("followers", "follower_id", "followed_at", user_id, limit, after)

    async def following_page(
        self, user_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page("following", "following_id", "followed_at", user_id, limit, after)

    async def requests_page(
        self, followee_id: int, limit: int, after: int | None = None
    ) -> list[FollowEdge]:
        return await self._page(
            "follow_requests", "follower_id", "requested_at", followee_id, limit, after
        )

    async def _page(
        self, table: str, other: str, at: str, user_id: int, limit: int, after: int | None
    ) -> list[FollowEdge]:
        if limit <= 0:
            return []
        rows = await self._db.run(
            f"SELECT {other} AS other_id, {at} AS at FROM {{ks}}.{table} "
            f"WHERE user_id = ? AND {other} > ? LIMIT ?",
            (user_id, -1 if after is None else after, limit),
        )
        return [FollowEdge(user_id, row["other_id"], utc(row["at"])) for row in rows]  # type: ignore[arg-type]

    async def is_following_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        found = await self._present("following", "following_id", pairs)
        return [pair in found for pair in pairs]

    async def request(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(
            "INSERT INTO {ks}.follow_requests (user_id, follower_id, requested_at) "
            "VALUES (?, ?, ?) IF NOT EXISTS",
            (followee_id, follower_id, at),
        )
        return added

    async def withdraw_request(self, follower_id: int, followee_id: int) -> bool:
        removed, _ = await self._db.applied(
            "DELETE FROM {ks}.follow_requests WHERE user_id = ? AND follower_id = ? IF EXISTS",
            (followee_id, follower_id),
        )
        return removed

    async def has_requested_many(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        flipped = [(followee, follower) for follower, followee in pairs]
        found = await self._present("follow_requests", "follower_id", flipped)
        return [pair in found for pair in flipped]

    async def _present(
        self, table: str, other: str, pairs: Sequence[tuple[int, int]]
    ) -> set[tuple[int, int]]:
        """One query per partition (user_id), with the others as an IN on the clustering key."""
        by_user = [
            (user_id, sorted({o for _, o in group}))
            for user_id, group in groupby(sorted(set(pairs)), key=lambda pair: pair[0])
        ]
        results = await gather(
            self._db.run(
                f"SELECT user_id, {other} AS other_id FROM {{ks}}.{table} "
                f"WHERE user_id = ? AND {other} IN ?",
                (user_id, others),
            )
            for user_id, others in by_user
        )
        return {(row["user_id"], row["other_id"]) for rows in results for row in rows}
