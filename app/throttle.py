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
_clock = time.time  # replaced by tests that cross a window's edge


async def spend(cache: Cache, bucket: str, key: str, limit: int, window_s: int, what: str) -> None:
    """Counts one use of `bucket` by `key`; RATE_LIMITED (with retryAfterSeconds) past `limit`
    uses in the last `window_s` seconds. A sliding window, estimated from this fixed window's
    count and the previous one's weighted by how much of it still overlaps (as Cloudflare
    does), so a burst across a window's edge cannot get twice the limit through."""
    now = _clock()
    window = int(now // window_s)
    overlap = 1.0 - (now % window_s) / window_s
    counter = f"ratelimit:{bucket}:{key}"
    try:
        used = await cache.incr(f"{counter}:{window}", 2 * window_s)
        [previous] = await cache.get_many([f"{counter}:{window - 1}"])
    except StorageError:
        return
    estimate = used + int(previous or 0) * overlap
    if estimate > limit:
        raise RateLimited(
            f"Too many {what}. Try again shortly.",
            retryAfterSeconds=max(1, round(window_s - now % window_s)),
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
