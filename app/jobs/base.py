"""What every job handler shares: the streams, the handler contract and its dependencies.

A job is delivered at least once (a worker that dies mid-job leaves it to be reclaimed and
run again from the start), so every handler is idempotent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol

from app.ids import SnowflakeGenerator
from app.live import LiveEvents
from app.policy import Gate
from app.readthrough import ReadThrough
from app.services.celebrities import Celebrities
from app.services.export_archive import ArchivedPage
from app.settings import Lifecycle
from storage.ports import FollowGraph
from storage.records import TweetRecord, UserRecord
from storage.registry import Stores

# Streams by urgency, each consumed on its own: delivery never waits behind the others.
LIVE = "live"  # live subscribers: a new tweet's event, never behind timeline writes
DELIVERY = "delivery"  # what readers wait for: home timelines (and deletions, live too)
INDEXING = "indexing"  # search; eventually consistent within seconds
CLEANUP = "cleanup"  # tidying that no reader waits for
NOTIFY = "notify"  # notifications: written and announced within a second
EXPORTS = "exports"  # data exports: minutes of work each, never in front of the others

Payload = Mapping[str, Any]
AUTHORS_IN_FLIGHT = 8  # a batched call reads this many authors' followers at once


@dataclass(frozen=True)
class JobDeps:
    """What handlers are built from (by the container, once per process)."""

    stores: Stores
    celebrities: Celebrities
    live: LiveEvents
    fan_out_batch: int
    gate: Gate
    tweet_cache: ReadThrough[TweetRecord]
    user_cache: ReadThrough[UserRecord]
    ids: SnowflakeGenerator
    notification_window: timedelta
    lifecycle: Lifecycle = field(default_factory=Lifecycle)  # thresholds (export TTL, ...)
    # An author's tweets in the cold archive, newest first (app/archive.py `ColdArchive.page`).
    archived: ArchivedPage | None = None


class JobHandler(Protocol):
    """Runs jobs of one kind. `max_batch` > 1: the worker hands it up to that many jobs of
    its kind at once (e.g. one bulk request for many tweets); each job is still acknowledged
    on its own, and a failing batch is retried one job at a time."""

    kind: ClassVar[str]
    stream: ClassVar[str]
    max_batch: ClassVar[int]

    def __init__(self, deps: JobDeps) -> None: ...

    async def __call__(self, payloads: Sequence[Payload]) -> None: ...


async def tweets_of(stores: Stores, payloads: Sequence[Payload]) -> list[TweetRecord]:
    """The stored tweets named by the payloads' "tweet_id", in payload order (one read)."""
    found = await stores.tweets.get_many([int(payload["tweet_id"]) for payload in payloads])
    return [tweet for tweet in found if tweet is not None]


async def follower_batches(
    graph: FollowGraph, user_id: int, batch: int
) -> AsyncIterator[list[int]]:
    """Every follower of user_id, `batch` at a time, in follower-id order."""
    after = None
    while True:
        edges = await graph.followers_page(user_id, batch, after)
        if not edges:
            return
        yield [edge.other_id for edge in edges]
        if len(edges) < batch:
            return
        after = edges[-1].other_id
