"""Short-lived signed access tokens and opaque refresh tokens.

An access token is `base64url(json payload).base64url(HMAC-SHA256)`: its user (`sub`), its
session (`sid`, the family of refresh tokens it came with) and its expiry. The signature is
checked here; whether the session was revoked and the user still exists is app/sessions.py's
question. A refresh token is 32 random bytes; only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from app.ids import parse_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: int


class AccessTokens:
    def __init__(self, secret_key: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(b"chirp-access:" + secret_key.encode()).digest()
        self._ttl_s = ttl_s

    @property
    def ttl_s(self) -> int:
        """How long a token issued now is honoured, in seconds."""
        return self._ttl_s

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, user_id: int, session_id: int, now: float | None = None) -> str:
        now = time.time() if now is None else now
        payload = {"sub": str(user_id), "sid": str(session_id), "exp": int(now) + self._ttl_s}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, now: float | None = None) -> AccessClaims | None:
        """The claims of a validly signed, unexpired token; None otherwise (a token from
        before sessions had ids, too: it expires within minutes and a refresh replaces it)."""
        if not token.isascii():  # ours are base64url; compare_digest refuses other text
            return None
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            expires = payload["exp"]
            user_id, session_id = parse_id(payload["sub"]), parse_id(payload.get("sid"))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        now = time.time() if now is None else now
        if user_id is None or session_id is None or not isinstance(expires, int):
            return None
        return AccessClaims(user_id, session_id) if now < expires else None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
