"""Process metrics in the Prometheus text format, served at /metrics: GraphQL operations and
errors by code, store calls by port and method, tweet views by stage, background jobs by
outcome, what lifecycle passes did, and latency histograms of operations by name and of
store calls by port and method."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping

from storage.records import Backlog

# From a SQLite read (well under a millisecond) to a request that times out.
LATENCY_BUCKETS_S = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Operation names are the client's to choose: each one is a series, so only the first this
# many get one; the rest (and anything that is not a GraphQL name) count as OTHER.
OPERATION_NAMES_KEPT = 100
OTHER = "other"
ANONYMOUS = "anonymous"
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")


def operation_label(name: str | None) -> str:
    """An operation's label in the latency histogram."""
    if not name:
        return ANONYMOUS
    return name if _GRAPHQL_NAME.fullmatch(name) else OTHER


class Series:
    """One label's observations: how many fell in each bucket (the last one past every
    bound), and their sum."""

    __slots__ = ("bounds", "buckets", "total_s")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.total_s = 0.0

    def observe(self, seconds: float) -> None:
        self.buckets[bisect_left(self.bounds, seconds)] += 1  # le: a bound counts its equal
        self.total_s += seconds


class Histogram:
    """Latencies by one label; with `max_labels`, labels past that many count as OTHER."""

    def __init__(
        self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S, max_labels: int | None = None
    ) -> None:
        self.bounds = bounds
        self.series_by_label: dict[str, Series] = {}
        self._max_labels = max_labels

    def series(self, label: str) -> Series:
        found = self.series_by_label.get(label)
        if found is None:
            kept = len(self.series_by_label) - (OTHER in self.series_by_label)
            if self._max_labels is not None and kept >= self._max_labels and label != OTHER:
                return self.series(OTHER)
            found = self.series_by_label[label] = Series(self.bounds)
        return found

    def observe(self, label: str, seconds: float) -> None:
        self.series(label).observe(seconds)


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
        # Queries and mutations by operation name (a subscription lasts as long as it is open).
        self.operation_seconds = Histogram(max_labels=OPERATION_NAMES_KEPT)
        self.store_seconds = Histogram()  # by "port.method" (storage/instrumented.py)

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
        _histogram(
            lines,
            "chirp_graphql_operation_duration_seconds",
            "GraphQL queries and mutations by operation name (anonymous; other past the first "
            f"{OPERATION_NAMES_KEPT} names)",
            "operation",
            self.operation_seconds,
        )
        _histogram(
            lines,
            "chirp_store_call_duration_seconds",
            "Store and cache calls by port and method",
            "method",
            self.store_seconds,
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


def _histogram(
    lines: list[str], name: str, help_text: str, label: str, histogram: Histogram
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    bounds = [repr(float(bound)) for bound in histogram.bounds] + ["+Inf"]
    for key, series in sorted(histogram.series_by_label.items()):
        value = _label_value(key)
        count = 0
        for bound, in_bucket in zip(bounds, series.buckets, strict=True):
            count += in_bucket
            lines.append(f'{name}_bucket{{{label}="{value}",le="{bound}"}} {count}')
        lines.append(f'{name}_sum{{{label}="{value}"}} {series.total_s:.6f}')
        lines.append(f'{name}_count{{{label}="{value}"}} {count}')


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
