"""Account deletion (X's deactivation model): `deleteAccount(password)` hides the account and
everything it made at once and ends its sessions; a log-in within the cancel window brings it
all back; after the purge window the lifecycle removes it for good (app/lifecycle/accounts.py).

Until the purge the account keeps its row, with `deactivated_at` set: the policy
(app/policy.py `deactivated`) hides it from every read path, its access tokens stop being
honoured (app/sessions.py), and its username and email stay taken. Every step here is
idempotent, and the truth (`deactivated_at`) is written after the schedule entry and before
anything that follows from it, so a request that dies midway is finished by a retry, or
undone by the purge's re-check.
"""

from __future__ import annotations

from datetime import timedelta

from app.errors import NotFoundError, UserError
from app.jobs import Jobs
from app.jobs.index_users import IndexUsers
from app.passwords import verify_password
from app.policy import deactivated
from app.readthrough import ReadThrough
from app.settings import Lifecycle
from storage.records import LifecycleEntry, LifecycleKind, UserRecord, utcnow
from storage.registry import Stores


class WrongPassword(UserError):
    code = "WRONG_PASSWORD"


class AccountDeleted(UserError):
    """A log-in after the cancel window: the deletion can no longer be undone."""

    code = "ACCOUNT_DELETED"


class AccountDeletions:
    """Deleting an account and cancelling the deletion; both evict the user everywhere and
    re-index people search (IndexUsers removes a deactivated account)."""

    def __init__(
        self,
        stores: Stores,
        user_cache: ReadThrough[UserRecord],
        jobs: Jobs,
        thresholds: Lifecycle,
    ) -> None:
        self._stores = stores
        self._users = user_cache
        self._jobs = jobs
        self._cancel = timedelta(seconds=thresholds.account_cancel_s)
        self._purge = timedelta(seconds=thresholds.account_purge_s)

    async def delete(self, user_id: int, password: str) -> None:
        [user] = await self._stores.users.get_many([user_id])
        if user is None or deactivated(user):
            raise NotFoundError("That account does not exist.")
        if not await verify_password(user.password_hash, password):
            raise WrongPassword("That password is not right.", argument="password")
        now = utcnow()
        await self._stores.lifecycle.schedule(
            LifecycleEntry(
                kind=LifecycleKind.ACCOUNT,
                subject_id=user_id,
                owner_id=user_id,
                since=now,
                due_at=now + self._purge,
            )
        )
        await self._stores.users.deactivate(user_id, now)
        await self._evicted(user_id)
        await self._stores.sessions.revoke_user(user_id)

    async def on_log_in(self, user: UserRecord) -> UserRecord:
        """The user logging in with the right password: a deletion within the cancel window
        is cancelled (the account as it is now is returned); past it, ACCOUNT_DELETED."""
        if user.deactivated_at is None:
            return user
        if utcnow() - user.deactivated_at > self._cancel:
            raise AccountDeleted("This account was deleted and can no longer be restored.")
        user = await self._stores.users.reactivate(user.id)
        await self._stores.lifecycle.cancel(LifecycleKind.ACCOUNT, user.id, user.id)
        await self._evicted(user.id)
        return user

    async def _evicted(self, user_id: int) -> None:
        await self._users.invalidate([user_id])
        await self._jobs.enqueue(IndexUsers, {"user_id": user_id})
