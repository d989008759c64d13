"""Counts every store and cache call per operation, so N+1 patterns fail a test.

`counting(stores)` wraps each port in a proxy; calls made while a `CallCounter` is active
(a context variable, so concurrent requests keep their own counts) are tallied by
"port.method". Outside any counter the proxy costs one dictionary lookup.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from storage.errors import StorageError
from storage.registry import Stores, store_names

_current: contextvars.ContextVar[Counter[str] | None] = contextvars.ContextVar(
    "chirp_store_calls", default=None
)
# While set (one query's run, app/compiled.py): a store call that failed is not made again
# with the same arguments; the same error is raised at once. A query the compiled plan
# hands to graphql-core runs its resolvers again, and a store that just timed out must not
# make the client wait for that timeout twice.
_failures: contextvars.ContextVar[dict[str, StorageError] | None] = contextvars.ContextVar(
    "chirp_store_failures", default=None
)


class CountingProxy:
    def __init__(self, name: str, target: Any, totals: Counter[str] | None = None) -> None:
        self._name = name
        self._target = target
        self._totals: Counter[str] = totals if totals is not None else Counter()

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not inspect.iscoroutinefunction(value):
            return value
        label = f"{self._name}.{attr}"
        totals = self._totals

        @functools.wraps(value)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            failures = _failures.get()
            if failures is not None:
                key = f"{label}{args!r}{kwargs!r}"
                failed = failures.get(key)
                if failed is not None:
                    raise failed
            calls = _current.get()
            if calls is not None:
                calls[label] += 1
            totals[label] += 1
            try:
                return await value(*args, **kwargs)
            except StorageError as error:
                if failures is not None:
                    failures[key] = error
                raise

        setattr(self, attr, counted)  # build the wrapper once per method
        return counted

    def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        calls = _current.get()
        if calls is not None:
            calls[f"{self._name}.subscribe"] += 1
        return self._target.subscribe(*args, **kwargs)


def unwrapped(port: Any) -> Any:
    """The adapter behind a counting proxy (for code that needs its concrete type)."""
    return port._target if isinstance(port, CountingProxy) else port


def counting(stores: Stores, totals: Counter[str] | None = None) -> Stores:
    """Every port counted per operation, and into `totals` (the process's metrics) if given."""
    wrapped = {name: CountingProxy(name, getattr(stores, name), totals) for name in store_names()}
    return Stores(resources=stores.resources, **wrapped)


@contextmanager
def count_calls() -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()
    token = _current.set(calls)
    try:
        yield calls
    finally:
        _current.reset(token)


def start_counting() -> contextvars.Token[Counter[str] | None]:
    return _current.set(Counter())


def stop_counting(token: contextvars.Token[Counter[str] | None]) -> None:
    _current.reset(token)


def pause_counting() -> contextvars.Token[Counter[str] | None]:
    """Calls from here on count toward no operation (until resume_counting)."""
    return _current.set(None)


def resume_counting(token: contextvars.Token[Counter[str] | None]) -> None:
    _current.reset(token)


def remember_failures() -> contextvars.Token[dict[str, StorageError] | None]:
    """From here on, a failed store call fails again at once (see `_failures`)."""
    return _failures.set({})


def forget_failures(token: contextvars.Token[dict[str, StorageError] | None]) -> None:
    _failures.reset(token)
