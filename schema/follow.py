"""Follow edges and their connections."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import id_cursor
from schema.enum_values import described
from schema.timeline import CURSOR, PageInfo

if TYPE_CHECKING:
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]


async def _user(info: Info, user_id: int) -> User:
    from schema.user import named_user

    return await named_user(info, user_id, "a follow edge")


@strawberry.type(description="One account following another, or asking to.")
class Follow:
    followed_at: datetime = strawberry.field(
        description="When the follow began (for a follow request: when it was asked)."
    )
    follower_id: strawberry.Private[int]
    followee_id: strawberry.Private[int]
    cursor_id: strawberry.Private[int]

    @strawberry.field(description="Who follows (or asks to).")
    async def follower(self, info: Info) -> UserRef:
        return await _user(info, self.follower_id)

    @strawberry.field(description="Who is followed (or asked).")
    async def followee(self, info: Info) -> UserRef:
        return await _user(info, self.followee_id)


@strawberry.type(description="A follow, with its cursor.")
class FollowEdge:
    cursor: str = strawberry.field(description=CURSOR)
    node: Follow = strawberry.field(description="The follow.")


@strawberry.type(
    description="A page of follows, ordered by the other account's id; accounts blocked "
    "either way with the viewer, and deleted ones, are left out."
)
class FollowConnection:
    edges: list[FollowEdge] = strawberry.field(description="The follows of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def from_edges(cls, follows: list[Follow], has_next: bool) -> FollowConnection:
        edges = [FollowEdge(cursor=id_cursor(f.cursor_id), node=f) for f in follows]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next, end_cursor=end))

    @classmethod
    def empty(cls) -> FollowConnection:
        return cls.from_edges([], False)


@strawberry.enum(description="Where a follow stands.")
class FollowStatus(Enum):
    FOLLOWING = described("following", description="The follow is in place.")
    REQUESTED = described(
        "requested", description="A follow request waits for the protected account's answer."
    )
    NOT_FOLLOWING = described("not_following", description="No follow, and no request pending.")


@strawberry.type(description="The other account, and where the follow stands now.")
class FollowPayload:
    user: UserRef = strawberry.field(description="The other account.")
    status: FollowStatus = strawberry.field(
        description="For follow and unfollow: whether you now follow `user`; for "
        "approveFollowRequest and rejectFollowRequest: whether `user` now follows you."
    )
