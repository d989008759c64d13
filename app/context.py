"""The per-request GraphQL context: who is asking, and that request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app import throttle
from app.container import Chirp
from app.errors import RateLimited, Unauthenticated
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

    async def throttle_anonymous_search(self, info: Any) -> None:
        """Searching (tweets or people) without logging in is limited per client address:
        one use per search field of the request (its path), however often the field runs.
        A query the compiled plan hands to graphql-core runs its resolvers again
        (app/compiled.py); it must not spend twice."""
        if self.viewer_id is None:
            spent: dict[tuple[Any, ...], Exception | None] = self.extra.setdefault("searched", {})
            at = tuple(info.path.as_list())
            if at in spent:  # the same answer again: refused stays refused
                refused = spent[at]
                if refused is not None:
                    raise refused
                return
            limit = self.chirp.settings.limits.anonymous_searches_per_minute
            try:
                await self.throttle("anonymous_search", limit, 60, "searches; log in for more")
            except RateLimited as error:
                spent[at] = error
                raise
            spent[at] = None

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
