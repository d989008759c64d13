"""Fixed-window rate limits counted in the cache (Redis when it is shared, so every server
process counts together): per client address for the paths anyone can call without an
account, and per account name for password attempts. A cache outage fails open: it must
not lock every user out."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from app.errors import RateLimited
from storage.errors import StorageError
from storage.ports import Cache

UNKNOWN_ADDRESS = "unknown"
LOG_IN_ACCOUNT_WINDOW_S = 300


async def spend(cache: Cache, bucket: str, key: str, limit: int, window_s: int, what: str) -> None:
    """Counts one use of `bucket` by `key`; RATE_LIMITED (with retryAfterSeconds) past `limit`
    uses in the current `window_s`-second window."""
    now = time.time()
    window = int(now // window_s)
    try:
        used = await cache.incr(f"ratelimit:{bucket}:{key}:{window}", window_s)
    except StorageError:
        return
    if used > limit:
        raise RateLimited(
            f"Too many {what}. Try again shortly.",
            retryAfterSeconds=max(1, window_s - int(now % window_s)),
        )


def client_address(request: Any) -> str:
    """The caller's address as the server sees it (behind a trusted proxy, uvicorn's proxy
    headers middleware has already put the forwarded one there)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or UNKNOWN_ADDRESS)


def account_key(login: str) -> str:
    """One key per account name however it is typed (case, spaces), and of bounded size."""
    folded = login.strip().casefold().encode("utf-8", "replace")
    return hashlib.sha256(folded).hexdigest()[:32]
