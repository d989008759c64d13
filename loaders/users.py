"""User loaders: one batch function per key kind, results in key order."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from app.readthrough import ReadThrough
from storage.ports import FollowGraph, UserStore
from storage.records import UserRecord, UserStats


class UserByIdLoader(DataLoader[int, UserRecord | None]):
    def __init__(self, users: ReadThrough[UserRecord]) -> None:
        super().__init__()
        self._users = users

    async def batch_load_fn(self, ids: Sequence[int]) -> list[UserRecord | None]:
        return await self._users.get_many(list(ids))


class UserStatsByIdLoader(DataLoader[int, UserStats | None]):
    def __init__(self, users: UserStore) -> None:
        super().__init__()
        self._users = users

    async def batch_load_fn(self, ids: Sequence[int]) -> list[UserStats | None]:
        return await self._users.get_stats_many(list(ids))


class FollowedByViewerLoader(DataLoader[int, bool]):
    """Does the viewer follow each user."""

    def __init__(self, graph: FollowGraph, viewer_id: int) -> None:
        super().__init__()
        self._graph = graph
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._graph.is_following_many([(self._viewer_id, uid) for uid in ids])


class FollowsViewerLoader(DataLoader[int, bool]):
    """Does each user follow the viewer."""

    def __init__(self, graph: FollowGraph, viewer_id: int) -> None:
        super().__init__()
        self._graph = graph
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._graph.is_following_many([(uid, self._viewer_id) for uid in ids])


class RequestedByViewerLoader(DataLoader[int, bool]):
    """Has the viewer a pending follow request to each user."""

    def __init__(self, graph: FollowGraph, viewer_id: int) -> None:
        super().__init__()
        self._graph = graph
        self._viewer_id = viewer_id

    async def batch_load_fn(self, ids: Sequence[int]) -> list[bool]:
        return await self._graph.has_requested_many([(self._viewer_id, uid) for uid in ids])
