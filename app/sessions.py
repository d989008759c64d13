"""Which access tokens are honoured: validly signed and unexpired (app/tokens.py), of a
session (refresh-token family) not revoked, and of a user who exists.

Both questions read through the caches (in-process L1, then the shared cache, then the
store), so in the common case a request adds no round trip at all. A revocation writes the
store, then evicts the family everywhere: other processes hear of it on the invalidation
channel (app/invalidation.py), as they do for users and tweets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.policy import deactivated, suspended
from app.readthrough import ReadThrough
from app.tokens import AccessClaims, AccessTokens
from storage.errors import Unavailable
from storage.ports import SessionStore
from storage.records import UserRecord, utcnow

log = logging.getLogger("chirp.sessions")


@dataclass(frozen=True)
class SessionState:
    """What the caches hold for a session id (a refresh-token family)."""

    revoked: bool


def encode_state(state: SessionState) -> dict[str, object]:
    return {"revoked": state.revoked}


def decode_state(data: dict[str, object]) -> SessionState:
    return SessionState(revoked=bool(data["revoked"]))


def state_loader(
    store: SessionStore,
) -> Callable[[Sequence[int]], Awaitable[list[SessionState | None]]]:
    """ReadThrough's fetch_many: a state for every id, so "not revoked" is cached too."""

    async def fetch_many(family_ids: Sequence[int]) -> list[SessionState | None]:
        revoked = await store.revoked_families(family_ids)
        return [SessionState(revoked=flag) for flag in revoked]

    return fetch_many


class SessionRevocations:
    def __init__(
        self, store: SessionStore, states: ReadThrough[SessionState], remember_s: int
    ) -> None:
        self._store = store
        self._states = states
        # As long as a token of the family could still be presented: a refresh token issued
        # just before the revocation lives this long.
        self._remember = timedelta(seconds=remember_s)

    async def revoke(self, family_id: int) -> None:
        await self._store.revoke_family(family_id, utcnow() + self._remember)
        await self._states.invalidate([family_id])

    async def revoked(self, family_id: int) -> bool:
        [state] = await self._states.get_many([family_id])
        return state is None or state.revoked


class Authenticator:
    def __init__(
        self,
        tokens: AccessTokens,
        revocations: SessionRevocations,
        users: ReadThrough[UserRecord],
    ) -> None:
        self._tokens = tokens
        self._revocations = revocations
        self._users = users

    async def honoured(self, access_token: str) -> AccessClaims | None:
        """The claims of an access token to be honoured (its `user_id` is the viewer), or
        None if it is not to be."""
        claims = self._tokens.verify(access_token)
        if claims is None:
            return None
        return claims if await self.still_honoured(claims) else None

    async def still_honoured(self, claims: AccessClaims) -> bool:
        """Whether a token honoured once still is: its session not ended (logOut, a replayed
        refresh token), its user still there, not suspended and not deleted (deleteAccount).
        A long-lived websocket asks before each event it delivers; both answers come from
        the caches."""
        revoked, [user] = await asyncio.gather(
            self._revoked(claims.session_id), self._users.get_many([claims.user_id])
        )
        return not revoked and user is not None and not suspended(user) and not deactivated(user)

    async def _revoked(self, session_id: int) -> bool:
        """A revocation lives on the shard of its session id, which may be down while the
        user's own shard is up: then the short-lived token is honoured (it is signed and
        unexpired, and its user exists) rather than the user locked out with the shard."""
        try:
            return await self._revocations.revoked(session_id)
        except Unavailable:
            log.warning("session revocations unavailable; honouring a valid token")
            return False
