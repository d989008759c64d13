"""CassandraFollowGraph: `following` decides (a lightweight transaction, so a repeated or
concurrent follow is new exactly once) and `followers` mirrors it; follow requests alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from itertools import groupby

from storage.cassandra.session import CassandraSession, gather, utc
from storage.errors import StorageError
from storage.records import FollowEdge

_FOLLOW_IF_NEW = (
    "INSERT INTO {ks}.following (user_id, following_id, followed_at) VALUES (?, ?, ?) IF NOT EXISTS"
)
_MIRROR = "INSERT INTO {ks}.followers (user_id, follower_id, followed_at) VALUES (?, ?, ?)"
# Edges per single-partition batch in follow_many: one Paxos round (`following`) or one
# mutation (`followers`) for this many, well under Cassandra's batch size warning.
BATCH_ROWS = 50


class CassandraFollowGraph:
    def __init__(self, db: CassandraSession) -> None:
        self._db = db

    async def follow(self, follower_id: int, followee_id: int, at: datetime) -> bool:
        added, _ = await self._db.applied(_FOLLOW_IF_NEW, (follower_id, followee_id, at))
        if added:
            await self._db.run(_MIRROR, (followee_id, follower_id, at))
        return added

    async def follow_many(self, edges: Sequence[tuple[int, int]], at: datetime) -> list[bool]:
        """Each follower's edges (one `following` partition) are decided by conditional
        batches, then the new ones are mirrored into `followers`, batched per followee.
        Partitions go concurrently, bounded by the session's limit on statements in flight."""
        followees_of: dict[int, list[int]] = defaultdict(list)
        for follower, followee in dict.fromkeys(edges):
            followees_of[follower].append(followee)
        new_followees = await gather(
            self._new_edges(follower, followees, at) for follower, followees in followees_of.items()
        )
        added = {
            (follower, followee)
            for follower, followees in zip(followees_of, new_followees, strict=True)
            for followee in followees
        }
        # One partition per batch: Cassandra warns about unlogged batches over many.
        followers_of: dict[int, list[int]] = defaultdict(list)
        for follower, followee in added:
            followers_of[followee].append(follower)
        await gather(
            self._db.run_batch(_MIRROR, [(followee, follower, at) for follower in chunk])
            for followee, followers in followers_of.items()
            for chunk in _chunks(followers, BATCH_ROWS)
        )
        answers = []
        for pair in edges:
            answers.append(pair in added)
            added.discard(pair)  # a pair repeated in `edges` is new once
        return answers

    async def _new_edges(
        self, follower_id: int, followee_ids: list[int], at: datetime
    ) -> list[int]:
        """Which followees are new edges of follower_id. A conditional batch applies to all
        its rows or to none; when it does not apply it names the edges that exist, and the
        rest are tried again (a concurrent follow may have taken some meanwhile)."""
        added: list[int] = []
        for chunk in _chunks(followee_ids, BATCH_ROWS):
            remaining = chunk
            while remaining:
                rows = [(follower_id, followee, at) for followee in remaining]
                applied, found = await self._db.applied_batch(_FOLLOW_IF_NEW, rows)
                if applied:
                    added += remaining
                    break
                existing = {row.get("following_id") for row in found}
                if existing.isdisjoint(remaining):
                    raise StorageError("Cassandra refused a follow batch without naming an edge")
                remaining = [followee for followee in remaining if followee not in existing]
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


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
