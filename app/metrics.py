"""Process metrics in the Prometheus text format, served at /metrics: GraphQL operations and
errors by code, store calls by port and method, tweet views by stage, background jobs by
outcome, and what lifecycle passes did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from storage.records import Backlog


class Metrics:
    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()  # by operation type
        self.errors: Counter[str] = Counter()  # by extensions.code
        self.store_calls: Counter[str] = Counter()  # by "port.method"
        self.jobs: Counter[tuple[str, str]] = Counter()  # by (kind, outcome)
        self.views: Counter[str] = Counter()  # by stage: see app/views.py
        self.lifecycle: Counter[tuple[str, str]] = Counter()  # by (step, outcome)
        self.streams_lost: Counter[str] = Counter()  # job streams found gone, by stream
        self.reconciled: Counter[str] = Counter()  # jobs enqueued again after that, by stream
        self.backups: Counter[str] = Counter()  # scheduled backup sets: taken, pruned, failed
        self.execution: Counter[str] = Counter()  # queries: compiled, fallback, graphql-core

    def render(self, backlogs: Mapping[str, Backlog | None] | None = None) -> str:
        """`backlogs`: each job stream's backlog now (None: its queue did not answer)."""
        lines: list[str] = []
        _family(
            lines, "chirp_graphql_operations_total", "GraphQL operations", "type", self.operations
        )
        _family(lines, "chirp_graphql_errors_total", "GraphQL errors by code", "code", self.errors)
        _family(
            lines, "chirp_store_calls_total", "Store and cache calls", "method", self.store_calls
        )
        _family(lines, "chirp_views_total", "Tweet views by stage", "stage", self.views)
        _family(
            lines,
            "chirp_job_streams_lost_total",
            "Job streams found gone (their Redis lost them), by stream",
            "stream",
            self.streams_lost,
        )
        _family(
            lines,
            "chirp_jobs_reconciled_total",
            "Jobs enqueued again after their stream was lost, by stream",
            "stream",
            self.reconciled,
        )
        _family(
            lines,
            "chirp_query_execution_total",
            "Queries by execution path: compiled plan, fallback to graphql-core, or "
            "graphql-core (not compilable)",
            "path",
            self.execution,
        )
        _family(
            lines,
            "chirp_backups_total",
            "Scheduled backup sets by outcome",
            "outcome",
            self.backups,
        )
        lines += [
            "# HELP chirp_jobs_total Background jobs by outcome",
            "# TYPE chirp_jobs_total counter",
        ]
        for (kind, outcome), count in sorted(self.jobs.items()):
            lines.append(f'chirp_jobs_total{{kind="{kind}",outcome="{outcome}"}} {count}')
        lines += [
            "# HELP chirp_lifecycle_items_total Items each lifecycle step moved, purged or skipped",
            "# TYPE chirp_lifecycle_items_total counter",
        ]
        for (step, outcome), count in sorted(self.lifecycle.items()):
            lines.append(
                f'chirp_lifecycle_items_total{{step="{step}",outcome="{outcome}"}} {count}'
            )
        if backlogs:
            _backlog_families(lines, backlogs)
        return "\n".join(lines) + "\n"


def _family(
    lines: list[str], name: str, help_text: str, label: str, values: Mapping[str, int]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
    for key, count in sorted(values.items()):
        lines.append(f'{name}{{{label}="{key}"}} {count}')


def _backlog_families(lines: list[str], backlogs: Mapping[str, Backlog | None]) -> None:
    answered = {stream: b for stream, b in sorted(backlogs.items()) if b is not None}
    lines += [
        "# HELP chirp_job_backlog Jobs enqueued and not yet acknowledged, by stream",
        "# TYPE chirp_job_backlog gauge",
        *(f'chirp_job_backlog{{stream="{s}"}} {b.jobs}' for s, b in answered.items()),
        "# HELP chirp_job_lag_seconds Age of the oldest unacknowledged job, by stream",
        "# TYPE chirp_job_lag_seconds gauge",
        *(
            f'chirp_job_lag_seconds{{stream="{s}"}} {b.oldest_age_s:.3f}'
            for s, b in answered.items()
        ),
        "# HELP chirp_job_queue_up Whether the stream's queue answered this scrape",
        "# TYPE chirp_job_queue_up gauge",
        *(
            f'chirp_job_queue_up{{stream="{s}"}} {int(b is not None)}'
            for s, b in sorted(backlogs.items())
        ),
    ]


METRICS = Metrics()  # one per process, like the process itself
