"""In-process adapters for `memory://`: a TTL cache, an event broadcaster, a job queue.

Nothing here outlives the process or is seen by another one: the cache says so with
`shared = False`, and the queue is for single-process runs (the SQLite queue is durable).
`TTLCache` is also the app's L1 cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from storage.records import Backlog, Event, Job
from storage.registry import Resources
from storage.streams import JobStreams

if TYPE_CHECKING:
    from storage.ports import Cache, EventBus, JobQueue, JobQueues

K = TypeVar("K")
V = TypeVar("V")

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_MARKS = 100_000  # count_once marks (views: one per viewer and tweet seen)
DEFAULT_SUBSCRIBER_QUEUE = 1_000
DEFAULT_MAX_ATTEMPTS = 5


class TTLCache(Generic[K, V]):
    """A bounded LRU map whose entries also expire. Synchronous; not thread-safe (one event
    loop). `clock` returns seconds and must not go backwards (time.monotonic)."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, default: V | None = None) -> V | None:
        entry = self._live(key)
        if entry is None:
            return default
        self._entries.move_to_end(key)
        return entry[1]

    def set(self, key: K, value: V, ttl_s: float) -> None:
        self.set_until(key, value, self._clock() + ttl_s)

    def set_until(self, key: K, value: V, expires_at: float) -> None:
        """Store with an absolute deadline on this cache's clock."""
        self._entries[key] = (expires_at, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def expires_at(self, key: K) -> float | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    def delete(self, key: K) -> bool:
        return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def live_keys(self) -> list[K]:
        return [key for key in list(self._entries) if self._live(key) is not None]

    def __contains__(self, key: object) -> bool:
        return self._live(key) is not None  # type: ignore[arg-type]

    def _live(self, key: K) -> tuple[float, V] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry


class InProcessCache:
    """Entries in a TTLCache; the marks of `count_once` in one of their own (bounded too:
    past `max_marks` the oldest go first, so a mark may be forgotten before its TTL) and
    tallies in plain dicts, all in this process."""

    shared = False

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
        max_marks: int = DEFAULT_MAX_MARKS,
    ) -> None:
        self._cache: TTLCache[str, bytes] = TTLCache(max_entries, clock)
        self._marks: TTLCache[str, bool] = TTLCache(max_marks, clock)
        self._tallies: dict[str, Counter[str]] = {}

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self._cache.get(key) for key in keys]

    async def set_many(self, items: Mapping[str, bytes], ttl_s: float) -> None:
        for key, value in items.items():
            self._cache.set(key, value, ttl_s)

    async def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._cache.delete(key)

    async def incr(self, key: str, ttl_s: float, amount: int = 1) -> int:
        """Counters are stored as ASCII digits, as Redis does; the TTL starts at creation."""
        current = self._cache.get(key)
        expires_at = self._cache.expires_at(key)
        if current is None or expires_at is None:
            self._cache.set(key, str(amount).encode(), ttl_s)
            return amount
        value = int(current) + amount
        self._cache.set_until(key, str(value).encode(), expires_at)
        return value

    async def count_once(self, marks: Mapping[str, str], ttl_s: float, tally: str) -> int:
        new = []
        for mark, field in marks.items():
            if mark not in self._marks:
                self._marks.set(mark, True, ttl_s)
                new.append(field)
        if new:
            self._tallies.setdefault(tally, Counter()).update(new)
        return len(new)

    async def take_tally(self, tally: str) -> dict[str, int]:
        return dict(self._tallies.pop(tally, {}))

    async def add_to_tally(self, tally: str, counts: Mapping[str, int]) -> None:
        self._tallies.setdefault(tally, Counter()).update(counts)

    async def scan(
        self, prefix: str, cursor: str | None, count: int
    ) -> tuple[list[str], str | None]:
        """In key order: the cursor is the last key returned."""
        keys = sorted(k for k in self._cache.live_keys() if k.startswith(prefix))
        if cursor is not None:
            keys = [key for key in keys if key > cursor]
        batch = keys[: max(1, count)]
        return batch, (batch[-1] if len(keys) > len(batch) else None)


_CLOSED: Any = object()


class BoundedSubscription:
    """One subscriber's bounded queue. When it is full the oldest event is dropped, so a
    slow subscriber loses events instead of slowing publishers down. Also used by the Redis
    bus, which hands each local subscriber its events from one shared connection."""

    def __init__(self, channels: frozenset[str], size: int) -> None:
        self.channels = channels
        self.dropped = 0
        self._queue: asyncio.Queue[Any] = asyncio.Queue(size)

    def offer(self, event: Any) -> None:
        """An Event, or the close / failure marker."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def close(self) -> None:
        """Iteration ends after the events already queued."""
        self.offer(_CLOSED)

    def fail(self, error: BaseException) -> None:
        """Iteration raises `error` after the events already queued."""
        self.offer(_Failed(error))

    def __aiter__(self) -> BoundedSubscription:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is _CLOSED:
            self.offer(_CLOSED)  # stay closed for any later reader
            raise StopAsyncIteration
        if isinstance(event, _Failed):
            self.offer(event)
            raise event.error
        return event


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class InProcessEventBus:
    def __init__(self, subscriber_queue: int = DEFAULT_SUBSCRIBER_QUEUE) -> None:
        self._size = subscriber_queue
        self._subscriptions: set[BoundedSubscription] = set()

    async def publish(self, channel: str, data: bytes) -> None:
        event = Event(channel, data)
        for subscription in list(self._subscriptions):
            if channel in subscription.channels:
                subscription.offer(event)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, data in messages:
            await self.publish(channel, data)

    @contextlib.asynccontextmanager
    async def subscribe(self, channels: Sequence[str]) -> AsyncIterator[AsyncIterator[Event]]:
        """Events from the moment of entry; iteration ends when the bus closes."""
        subscription = BoundedSubscription(frozenset(channels), self._size)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
        self._subscriptions.clear()


@dataclass
class _QueuedJob:
    job: Job
    status: str = "pending"  # pending | reserved | dead
    reserved_at: float = 0.0
    enqueued_at: float = 0.0


class InProcessJobQueue:
    """The JobQueue contract in memory: at-least-once within this process, lost on exit."""

    def __init__(
        self, max_attempts: int = DEFAULT_MAX_ATTEMPTS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_attempts = max_attempts
        self._clock = clock
        self._ids = itertools.count(1)
        self._jobs: dict[str, _QueuedJob] = {}
        self._pending: deque[str] = deque()
        self._enqueued = asyncio.Event()

    async def enqueue(self, kind: str, payload: Mapping[str, Any]) -> str:
        # A JSON round trip, as a durable queue would do: same types back, no shared state.
        job = Job(str(next(self._ids)), kind, json.loads(json.dumps(dict(payload))))
        self._jobs[job.id] = _QueuedJob(job, enqueued_at=self._clock())
        self._requeue(job.id)
        return job.id

    async def reserve(self, consumer: str, limit: int, wait_s: float) -> list[Job]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            enqueued = self._enqueued
            jobs = self._take(limit)
            remaining = deadline - loop.time()
            if jobs or remaining <= 0:
                return jobs
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enqueued.wait(), timeout=remaining)

    def _take(self, limit: int) -> list[Job]:
        taken: list[Job] = []
        while self._pending and len(taken) < limit:
            queued = self._jobs.get(self._pending.popleft())
            if queued is None or queued.status != "pending":
                continue
            queued.status, queued.reserved_at = "reserved", self._clock()
            taken.append(queued.job)
        return taken

    async def ack(self, job: Job) -> None:
        self._jobs.pop(job.id, None)

    async def ack_many(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self._jobs.pop(job.id, None)

    async def fail(self, job: Job, error: str) -> None:
        queued = self._jobs.get(job.id)
        if queued is not None and queued.status == "reserved":
            self._count_attempt(queued)

    async def release(self, job: Job) -> None:
        queued = self._jobs.get(job.id)
        if queued is not None and queued.status == "reserved":
            self._requeue(job.id)

    async def renew(self, consumer: str, jobs: Sequence[Job]) -> None:
        for job in jobs:
            queued = self._jobs.get(job.id)
            if queued is not None and queued.status == "reserved":
                queued.reserved_at = self._clock()

    async def reclaim(self, idle_s: float) -> int:
        """Counts as a failed attempt, as in the SQLite queue."""
        cutoff = self._clock() - idle_s
        idle = [
            queued
            for queued in self._jobs.values()
            if queued.status == "reserved" and queued.reserved_at <= cutoff
        ]
        for queued in idle:
            self._count_attempt(queued)
        return len(idle)

    async def dead_letters(self, limit: int) -> list[Job]:
        dead = [queued.job for queued in self._jobs.values() if queued.status == "dead"]
        return dead[:limit]

    def lost(self) -> bool:
        return False

    async def backlog(self) -> Backlog:
        waiting = [queued.enqueued_at for queued in self._jobs.values() if queued.status != "dead"]
        oldest = self._clock() - min(waiting) if waiting else 0.0
        return Backlog(len(waiting), max(0.0, oldest))

    def _count_attempt(self, queued: _QueuedJob) -> None:
        queued.job = replace(queued.job, attempts=queued.job.attempts + 1)
        if queued.job.attempts >= self._max_attempts:
            queued.status = "dead"
        else:
            self._requeue(queued.job.id)

    def _requeue(self, job_id: str) -> None:
        self._jobs[job_id].status = "pending"
        self._pending.append(job_id)
        self._enqueued.set()
        self._enqueued = asyncio.Event()


class InProcessJobQueues(JobStreams[InProcessJobQueue]):
    """Named in-process streams, each an InProcessJobQueue."""

    def __init__(self, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        super().__init__()
        self._max_attempts = max_attempts

    def _open(self, name: str) -> InProcessJobQueue:
        return InProcessJobQueue(self._max_attempts)


def _query_int(url: str, name: str, default: int) -> int:
    values = parse_qs(urlsplit(url).query).get(name)
    return int(values[0]) if values else default


async def open_cache(url: str, resources: Resources) -> InProcessCache:
    """`memory://?max_entries=10000&max_marks=100000`."""
    return InProcessCache(
        _query_int(url, "max_entries", DEFAULT_MAX_ENTRIES),
        max_marks=_query_int(url, "max_marks", DEFAULT_MAX_MARKS),
    )


async def open_event_bus(url: str, resources: Resources) -> InProcessEventBus:
    """`memory://?subscriber_queue=1000`: events kept per subscriber before dropping."""
    bus = InProcessEventBus(_query_int(url, "subscriber_queue", DEFAULT_SUBSCRIBER_QUEUE))
    resources.on_close(bus.close)
    return bus


async def open_job_queue(url: str, resources: Resources) -> InProcessJobQueues:
    """`memory://?max_attempts=5`."""
    return InProcessJobQueues(_query_int(url, "max_attempts", DEFAULT_MAX_ATTEMPTS))


if TYPE_CHECKING:  # mypy checks that each adapter really implements its port

    def _implements_ports() -> None:
        _cache: Cache = InProcessCache()
        _bus: EventBus = InProcessEventBus()
        _queue: JobQueue = InProcessJobQueue()
        _queues: JobQueues = InProcessJobQueues()
