"""argon2id password hashing, with a dummy verification for unknown users so that a wrong
username and a wrong password take about the same time.

Each hash takes argon2's memory (64 MiB) and a core's worth of time, so hashes run on a pool
of their own, HASHING_THREADS at a time: memory stays bounded however many sign-ins arrive
at once. Past MAX_WAITING queued hashes, a new one is refused at once (RATE_LIMITED) rather
than queued behind minutes of work."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import RateLimited

HASHING_THREADS = 2
MAX_WAITING = 64
RETRY_AFTER_S = 5

T = TypeVar("T")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("a password nobody has, used to spend the same time")
_lock = threading.Lock()
_queued = 0
_work: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
_threads: list[threading.Thread] = []


def _hash_worker() -> None:
    while True:
        work, future = _work.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work())
            except BaseException as error:  # handed to the caller
                future.set_exception(error)


def _submit(work: Callable[[], T]) -> Future[T]:
    """Daemon threads of their own: a hash never takes a thread other work needs, and a
    process never waits at exit for one."""
    with _lock:
        while len(_threads) < HASHING_THREADS:
            thread = threading.Thread(target=_hash_worker, name="argon2", daemon=True)
            thread.start()
            _threads.append(thread)
    future: Future[T] = Future()
    _work.put((work, future))
    return future


async def _on_pool(work: Callable[[], T]) -> T:
    global _queued
    with _lock:
        if _queued >= HASHING_THREADS + MAX_WAITING:
            raise RateLimited(
                "Too many sign-ins at once. Try again shortly.", retryAfterSeconds=RETRY_AFTER_S
            )
        _queued += 1
    try:
        return await asyncio.wrap_future(_submit(work))
    finally:
        with _lock:
            _queued -= 1


async def hash_password(password: str) -> str:
    # argon2 is CPU-bound by design: keep it off the event loop.
    return await _on_pool(lambda: _hasher.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await _on_pool(verify)
