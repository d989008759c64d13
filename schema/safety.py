"""What a user sets against others: the accounts they block or mute, and muted words."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.context import Context
from app.cursors import id_cursor
from schema.timeline import CURSOR, PageInfo
from storage.records import MutedWord as MutedWordRecord
from storage.records import RelationEdge

if TYPE_CHECKING:
    from schema.user import User

Info = strawberry.Info[Context, None]
UserRef = Annotated["User", strawberry.lazy("schema.user")]


@strawberry.type(description="A word or #hashtag kept out of your feeds.")
class MutedWord:
    word: str = strawberry.field(description="As matched: NFC-normalized and casefolded.")
    created_at: datetime = strawberry.field(description="When it was muted.")
    expires_at: datetime | None = strawberry.field(
        description="When the mute ends; null: for good."
    )

    @classmethod
    def from_record(cls, record: MutedWordRecord) -> MutedWord:
        return cls(word=record.word, created_at=record.created_at, expires_at=record.expires_at)


@strawberry.type(description="An account you block or mute, with since when.")
class AccountEdge:
    cursor: str = strawberry.field(description=CURSOR)
    since: datetime = strawberry.field(description="When you blocked or muted it.")
    expires_at: datetime | None = strawberry.field(
        description="When a mute ends; null for a block, or a mute for good."
    )
    user_id: strawberry.Private[int]

    @strawberry.field(description="The account.")
    async def node(self, info: Info) -> UserRef:
        from schema.user import named_user

        return await named_user(info, self.user_id, "a block or mute")


@strawberry.type(description="Accounts you block or mute, by account id.")
class AccountConnection:
    edges: list[AccountEdge] = strawberry.field(
        description="The accounts of this page; deleted accounts are left out."
    )
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def from_edges(cls, edges: list[RelationEdge], has_next: bool) -> AccountConnection:
        built = [
            AccountEdge(
                cursor=id_cursor(e.other_id),
                since=e.created_at,
                expires_at=e.expires_at,
                user_id=e.other_id,
            )
            for e in edges
        ]
        end = built[-1].cursor if built else None
        return cls(edges=built, page_info=PageInfo(has_next_page=has_next, end_cursor=end))
