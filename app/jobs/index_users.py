"""index_users {"user_id"}: put accounts into people search, many per bulk request.

Enqueued when what people search holds of an account changes: sign-up, a profile update
(display name, bio), a follow or an unfollow (the followee's followers count), a block that
ends follows, a suspension or its end. The job carries only the id and reads the account and
its stats from the stores when it runs, so it is idempotent and the last one to run writes
what the stores hold then. A suspended account stays indexed with the end of its
suspension, which the index filters on; an account that is gone, or deleted (deactivated,
until a log-in cancels it), is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from app.jobs.base import INDEXING, JobDeps, Payload
from app.policy import deactivated
from storage.records import UserDocument, UserRecord, UserStats
from storage.registry import Stores


class IndexUsers:
    kind: ClassVar[str] = "index_users"
    stream: ClassVar[str] = INDEXING
    max_batch: ClassVar[int] = 500

    def __init__(self, deps: JobDeps) -> None:
        self._stores = deps.stores

    async def __call__(self, payloads: Sequence[Payload]) -> None:
        ids = list(dict.fromkeys(int(payload["user_id"]) for payload in payloads))
        users = await self._stores.users.get_many(ids)
        await index_users(self._stores, [user for user in users if user is not None])
        gone = [user_id for user_id, user in zip(ids, users, strict=True) if user is None]
        if gone:
            await self._stores.search.remove_users(gone)


async def index_users(stores: Stores, users: Sequence[UserRecord]) -> int:
    """Index the accounts with their current followers count (one stats read, one bulk
    request), and remove the deleted (deactivated) ones; returns how many were indexed."""
    deleted = [user.id for user in users if deactivated(user)]
    if deleted:
        await stores.search.remove_users(deleted)
    users = [user for user in users if not deactivated(user)]
    if not users:
        return 0
    stats = await stores.users.get_stats_many([user.id for user in users])
    await stores.search.index_users(
        [user_document(user, s) for user, s in zip(users, stats, strict=True)]
    )
    return len(users)


def user_document(user: UserRecord, stats: UserStats | None) -> UserDocument:
    return UserDocument(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        bio=user.bio or "",
        followers_count=max(0, stats.followers_count) if stats is not None else 0,
        suspended_until=user.suspended_until,
    )
