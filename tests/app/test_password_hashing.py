"""Password hashing under a flood: at most HASHING_THREADS hashes run at once (each holds
argon2's 64 MiB), and past the waiting room new ones are refused at once, not queued."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from app import passwords
from app.errors import RateLimited


class CountingHasher:
    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self._lock:
            self.running -= 1
        return f"hashed:{password}"


async def test_a_flood_of_hashes_runs_two_at_a_time_and_the_excess_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "MAX_WAITING", 6)
    results = await asyncio.gather(
        *(passwords.hash_password(f"pw{n}") for n in range(40)), return_exceptions=True
    )
    hashed = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(hashed) + len(refused) == 40
    assert len(hashed) == passwords.HASHING_THREADS + 6  # the rest were turned away at once
    assert refused[0].extensions["code"] == "RATE_LIMITED"
    assert refused[0].extensions["retryAfterSeconds"] > 0
    assert hasher.most <= passwords.HASHING_THREADS
    assert await passwords.hash_password("after the flood") == "hashed:after the flood"


async def test_verification_still_tells_right_from_wrong() -> None:
    stored = await passwords.hash_password("correct horse")
    assert await passwords.verify_password(stored, "correct horse")
    assert not await passwords.verify_password(stored, "wrong horse")
    assert not await passwords.verify_password(None, "anything")
