"""Background jobs: one handler module per kind, registered in HANDLERS.

Adding a kind is one new module (a class with `kind`, `stream`, `max_batch` and an async
`__call__` over payloads, see base.JobHandler) and one line here. Services enqueue through
`Jobs`, which puts each kind on its handler's stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.jobs.announce import Announce
from app.jobs.backfill import Backfill
from app.jobs.base import JobDeps, JobHandler
from app.jobs.export import Export
from app.jobs.fan_out import FanOut
from app.jobs.index import Index
from app.jobs.index_users import IndexUsers
from app.jobs.notify import Notify
from app.jobs.retract import Retract
from app.jobs.unfollow import Unfollow
from app.tracing import with_trace
from storage.ports import JobQueues

HANDLERS: tuple[type[JobHandler], ...] = (
    Announce,
    FanOut,
    Retract,
    Backfill,
    Index,
    IndexUsers,
    Unfollow,
    Notify,
    Export,
)

STREAMS: tuple[str, ...] = tuple(dict.fromkeys(handler.stream for handler in HANDLERS))
_STREAM_OF = {handler.kind: handler.stream for handler in HANDLERS}


def build_handlers(deps: JobDeps) -> dict[str, JobHandler]:
    return {handler.kind: handler(deps) for handler in HANDLERS}


class Jobs:
    """Enqueues a job of a registered kind on that kind's stream (with the traceparent of
    the span queuing it when tracing is on: app/tracing.py)."""

    def __init__(self, queues: JobQueues) -> None:
        self._queues = queues

    async def enqueue(self, kind: type[JobHandler], payload: Mapping[str, Any]) -> str:
        stream = self._queues.stream(_STREAM_OF[kind.kind])
        return await stream.enqueue(kind.kind, with_trace(payload))
