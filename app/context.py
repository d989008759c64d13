"""The per-request GraphQL context: who is asking, and that request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app import throttle
from app.container import Chirp
from app.errors import Unauthenticated
from app.tokens import AccessClaims
from loaders import Loaders


@dataclass
class Context:
    chirp: Chirp
    viewer_id: int | None
    request: Any = None
    response: Any = None
    auth_error: str | None = None
    connection_params: Any = None
    claims: AccessClaims | None = None  # of the access token, when one was honoured
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.chirp, self.viewer_id)

    def reset_loaders(self) -> None:
        """Forget this context's loaders (a subscription reads each event afresh)."""
        self.__dict__.pop("loaders", None)

    async def throttle(self, bucket: str, limit: int, window_s: int, what: str) -> None:
        """One use of `bucket` by this request's client address (see app/throttle.py)."""
        address = throttle.client_address(self.request)
        await throttle.spend(self.chirp.stores.cache, bucket, address, limit, window_s, what)

    async def throttle_anonymous_search(self) -> None:
        """Searching (tweets or people) without logging in is limited per client address."""
        if self.viewer_id is None:
            limit = self.chirp.settings.limits.anonymous_searches_per_minute
            await self.throttle("anonymous_search", limit, 60, "searches; log in for more")

    async def require_live_session(self) -> None:
        """For a long-lived subscription: refuse to go on once the token's session has
        ended (logOut, a replayed refresh token) or its user is gone."""
        claims = self.claims
        if claims is not None and not await self.chirp.authenticator.still_honoured(claims):
            raise Unauthenticated("Your session has ended; log in again.")

    def require_viewer(self) -> int:
        if self.viewer_id is None:
            raise Unauthenticated(self.auth_error or "You need to log in for this.")
        return self.viewer_id
