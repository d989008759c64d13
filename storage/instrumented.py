"""Counts, times and traces every store and cache call.

`counting(stores)` wraps each port in a proxy; calls made while a `CallCounter` is active
(a context variable, so concurrent requests keep their own counts) are tallied by
"port.method", so N+1 patterns fail a test. Outside any counter the proxy costs one
dictionary lookup. Given `timings` (the process's /metrics), each call's duration goes into
its "port.method" series. Given a `tracer` (tracing on: app/tracing.py), a call made inside
a recording span (a GraphQL operation's) gets a child span saying which engine it went to
(`db.system`), the port and method, and whether it reads or writes; with no tracer the
wrapper is the untraced one, so tracing off costs nothing here.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from storage.errors import StorageError
from storage.registry import Stores, port_urls, scheme_of, store_names

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


# The engine behind a port, by its URL's scheme, as OpenTelemetry's `db.system` names it;
# the embedded default's in-process cache, bus and queue are "memory", its media folder
# "filesystem".
DB_SYSTEMS = {
    "postgresql": "postgresql",
    "cassandra": "cassandra",
    "redis": "redis",
    "http": "elasticsearch",
    "https": "elasticsearch",
    "s3": "s3",
    "sqlite": "sqlite",
    "memory": "memory",
    "file": "filesystem",
}
# Every port method (storage/ports.py) reads or writes; tests/app/test_tracing.py fails on
# one left out. A write includes taking (sessions.take, cache.take_tally, queue.reserve).
READS = frozenset(
    """ping get get_many find_by_username find_by_email get_stats_many get_settings
    ids_with_followers_over scan open_groups open_reports actions_page roles revoked_families
    conversation archived_many archived_months page pages followers_page following_page
    is_following_many requests_page has_requested_many blocks_page mutes_page relations
    liked_many retweeted_many counts_many likes_page likers_page retweeters_page quotes_page
    bookmarked_many bookmarks_page read_marker unread_count owned due export_of
    exports_expiring search trending search_users keys head upload_url download_url
    dead_letters backlog""".split()  # noqa: SIM905 (words read better than 51 strings)
)
WRITES = frozenset(
    """create update_profile add_to_stats add_to_stats_many update_settings set_suspended
    deactivate reactivate purge add_report resolve record grant revoke take revoke_family
    revoke_user mark_deleted restore drop_rows put_back add_archived remove_archived
    remove_archived_months push push_many remove trim evict_older follow follow_many unfollow
    request withdraw_request block unblock mute unmute add_muted_word remove_muted_word like
    unlike retweet undo_retweet add_counts add_views_many add_quote remove_quote forget_tweet
    bookmark unbookmark apply drop mark_read schedule cancel cancel_counting begin_export
    save_export forget_exports index refresh index_users remove_users put delete_many set_many
    incr count_once take_tally add_to_tally publish publish_many enqueue reserve ack ack_many
    fail release renew reclaim""".split()  # noqa: SIM905
)


class LatencySeries(Protocol):
    def observe(self, seconds: float) -> None: ...


class Latencies(Protocol):
    def series(self, label: str) -> LatencySeries: ...


class CountingProxy:
    def __init__(
        self,
        name: str,
        target: Any,
        totals: Counter[str] | None = None,
        timings: Latencies | None = None,
        tracer: Tracer | None = None,
        span_attributes: Mapping[str, str] | None = None,
    ) -> None:
        self._name = name
        self._target = target
        self._totals: Counter[str] = totals if totals is not None else Counter()
        self._timings = timings
        self._tracer = tracer
        self._span_attributes = span_attributes or {}

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not inspect.iscoroutinefunction(value):
            return value
        label = f"{self._name}.{attr}"
        totals = self._totals
        timer = self._timings.series(label) if self._timings is not None else None
        call = value if self._tracer is None else self._traced(value, label, attr)

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
            started = perf_counter()
            try:
                return await call(*args, **kwargs)
            except StorageError as error:
                if failures is not None:
                    failures[key] = error
                raise
            finally:
                if timer is not None:
                    timer.observe(perf_counter() - started)

        setattr(self, attr, counted)  # build the wrapper once per method
        return counted

    def _traced(
        self, call: Callable[..., Awaitable[Any]], label: str, method: str
    ) -> Callable[..., Awaitable[Any]]:
        tracer = self._tracer
        assert tracer is not None
        kind = "read" if method in READS else "write" if method in WRITES else None
        attributes = {
            **self._span_attributes,
            "db.operation.name": method,
            **({"chirp.store.kind": kind} if kind else {}),
        }

        async def traced(*args: Any, **kwargs: Any) -> Any:
            # Outside an operation (the worker's loops, a token checked before one starts),
            # a call starts no trace of its own: only the calls of a traced request show.
            if not trace.get_current_span().is_recording():
                return await call(*args, **kwargs)
            span = tracer.start_span(label, kind=SpanKind.CLIENT, attributes=attributes)
            try:
                return await call(*args, **kwargs)
            except Exception as error:
                span.set_attribute("error.type", type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                span.end()

        return traced

    def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        calls = _current.get()
        if calls is not None:
            calls[f"{self._name}.subscribe"] += 1
        return self._target.subscribe(*args, **kwargs)


def unwrapped(port: Any) -> Any:
    """The adapter behind a counting proxy (for code that needs its concrete type)."""
    return port._target if isinstance(port, CountingProxy) else port


def counting(
    stores: Stores,
    totals: Counter[str] | None = None,
    timings: Latencies | None = None,
    tracer: Tracer | None = None,
) -> Stores:
    """Every port counted per operation, and into `totals` (the process's metrics) if given;
    each call timed into `timings` and, with a `tracer`, traced (see the module's doc)."""
    systems = _db_systems(stores) if tracer is not None else {}
    wrapped = {
        name: CountingProxy(
            name,
            getattr(stores, name),
            totals,
            timings,
            tracer,
            _port_attributes(name, getattr(stores, name), systems),
        )
        for name in store_names()
    }
    return Stores(resources=stores.resources, **wrapped)


def _db_systems(stores: Stores) -> dict[str, str]:
    urls = port_urls(stores.resources.settings)
    return {port: DB_SYSTEMS.get(scheme_of(url), scheme_of(url)) for port, url in urls.items()}


def _port_attributes(name: str, adapter: Any, systems: Mapping[str, str]) -> dict[str, str]:
    if name not in systems:
        return {}
    attributes = {"db.system": systems[name], "chirp.store.port": name}
    # On the real engines a Redis cache fronts some Cassandra ports (storage/registry.py):
    # a call may be answered from Redis alone.
    if type(adapter).__module__.startswith("storage.redis.") and systems[name] != "redis":
        attributes["chirp.store.cache"] = "redis"
    return attributes


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
