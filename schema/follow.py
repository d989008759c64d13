"""Follow edges and their connections."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import id_cursor
from schema.timeline import PageInfo

if TYPE_CHECKING:
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]


async def _user(info: Info, user_id: int) -> User:
    from schema.user import named_user

    return await named_user(info, user_id, "a follow edge")


@strawberry.type
class Follow:
    followed_at: datetime
    follower_id: strawberry.Private[int]
    followee_id: strawberry.Private[int]
    cursor_id: strawberry.Private[int]

    @strawberry.field
    async def follower(self, info: Info) -> UserRef:
        return await _user(info, self.follower_id)

    @strawberry.field
    async def followee(self, info: Info) -> UserRef:
        return await _user(info, self.followee_id)


@strawberry.type
class FollowEdge:
    cursor: str
    node: Follow


@strawberry.type
class FollowConnection:
    edges: list[FollowEdge]
    page_info: PageInfo

    @classmethod
    def from_edges(cls, follows: list[Follow], has_next: bool) -> FollowConnection:
        edges = [FollowEdge(cursor=id_cursor(f.cursor_id), node=f) for f in follows]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))

    @classmethod
    def empty(cls) -> FollowConnection:
        return cls.from_edges([], False)


@strawberry.enum
class FollowStatus(Enum):
    FOLLOWING = "following"
    REQUESTED = "requested"
    NOT_FOLLOWING = "not_following"


@strawberry.type
class FollowPayload:
    user: UserRef
    status: FollowStatus
