"""Short-lived signed access tokens and opaque refresh tokens.

An access token is `base64url(json payload).base64url(HMAC-SHA256)`; it is checked without
a store round trip. A refresh token is 32 random bytes; only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AccessTokens:
    def __init__(self, secret_key: str, ttl_s: int) -> None:
        self._key = hashlib.sha256(b"chirp-access:" + secret_key.encode()).digest()
        self._ttl_s = ttl_s

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, user_id: int, now: float | None = None) -> str:
        now = time.time() if now is None else now
        payload = {"sub": str(user_id), "exp": int(now) + self._ttl_s}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, now: float | None = None) -> int | None:
        """The user id of a valid, unexpired token; None otherwise."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            expires, subject = int(payload["exp"]), int(payload["sub"])
        except (ValueError, KeyError, TypeError):
            return None
        now = time.time() if now is None else now
        return subject if now < expires else None


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
