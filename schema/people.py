"""People search results: a connection of accounts, best match first (app/services/people.py).

Every account shown passes the read policy with its current record: blocked either way or
suspended, it is left out (the index already leaves such accounts out; this covers the
moment before its job has run). The page's end cursor is the last hit the index gave,
shown or not, so the next page never repeats one.
"""

from __future__ import annotations

import strawberry

from app.context import Context
from app.cursors import decode_people_cursor, people_cursor
from app.services.people import people_query
from schema.timeline import CURSOR, PageInfo, page_size
from schema.user import User
from storage.records import UserRecord

Info = strawberry.Info[Context, None]


@strawberry.type(description="An account found, with its cursor.")
class UserEdge:
    cursor: str = strawberry.field(description=CURSOR)
    user: strawberry.Private[UserRecord]

    @strawberry.field(description="The account.")
    def node(self) -> User:
        return User.from_record(self.user)


@strawberry.type(description="Accounts, the best match first.")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description="The accounts of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


async def search_people(info: Info, query: str, first: int, after: str | None) -> UserConnection:
    """Checks the arguments (nothing is read or spent for bad ones), then one index query,
    one read of the accounts (through the user cache) and the viewer's relations."""
    text, size, cursor = people_query(query), page_size(first), decode_people_cursor(after)
    context = info.context
    await context.throttle_anonymous_search(info)
    policy = await context.loaders.policy()
    hits, more = await context.chirp.services.search_people(policy, text, size, cursor)
    users = await context.loaders.user_by_id.load_many([hit.user_id for hit in hits])
    edges = [
        UserEdge(cursor=people_cursor(hit), user=user)
        for hit, user in zip(hits, users, strict=True)
        if user is not None and policy.sees_account(user)
    ]
    end = people_cursor(hits[-1]) if hits else None
    return UserConnection(edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=end))
