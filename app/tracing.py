"""OpenTelemetry traces: a span per GraphQL operation, with a child span per store call
(storage/instrumented.py), exported over OTLP/HTTP (or to the console) when the standard
OTEL_* variables ask for it (app/settings.py).

Off by default, and then nothing here runs: no provider is built, the middleware and the
operation extension are not installed, the store proxy keeps its untraced wrapper, and
jobs are queued without a traceparent (a worker still takes one out of a payload queued by
a process that traces). On, a request's W3C `traceparent` makes its operation span a child
of the caller's span, and the jobs an operation queues carry its own on to their spans.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from app.settings import Tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter, SpanProcessor

TRACER_NAME = "chirp"
MAX_NAME = 100  # characters of an operation's name kept in its span's name
# A failed operation's span is an error only for the server's failures, not the client's.
SERVER_FAILURES = ("INTERNAL_SERVER_ERROR", "UNAVAILABLE")
_W3C = TraceContextTextMapPropagator()
_TRACE_HEADERS = (b"traceparent", b"tracestate")
# A job's payload carries the W3C traceparent of the span that queued it under this key
# (taken out again before its handler sees the payload).
TRACE_KEY = "traceparent"
MAX_LINKS = 128  # a batch span links at most this many producers' traces

# The tracer of the app serving the current request (set by TraceContext).
_tracer: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar(
    "chirp_tracer", default=None
)


class Traces:
    """This process's tracer and the provider that exports its spans; no tracer when
    tracing is off. `exporter` replaces the configured ones (tests: the SDK's in-memory
    exporter, which then gets every span as it ends)."""

    def __init__(self, settings: Tracing, exporter: SpanExporter | None = None) -> None:
        self.tracer: Tracer | None = None
        self._provider: TracerProvider | None = None
        if not settings.enabled:
            return
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        resource = Resource.create({SERVICE_NAME: settings.service_name})
        # Shut down by whoever started it (the app's lifespan, `chirp worker`), not at exit.
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            for name in settings.exporters:
                provider.add_span_processor(_processor(name, settings))
        self._provider = provider
        self.tracer = provider.get_tracer(TRACER_NAME)

    def shutdown(self) -> None:
        """Export what is still buffered, then stop."""
        if self._provider is not None:
            self._provider.shutdown()


def _processor(name: str, settings: Tracing) -> SpanProcessor:
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    if name == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(service_name=settings.service_name))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # In batches, off the event loop, every OTEL_BSP_SCHEDULE_DELAY ms (the SDK's variables).
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.endpoint or None))


class TraceContext:
    """ASGI middleware (tracing on): for all a request runs, the caller's span from its
    `traceparent` header (and `tracestate`) is the current context, and this app's tracer
    the current tracer. A websocket's upgrade request carries it for the whole connection."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self._app = app
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        attached = context.attach(_W3C.extract(carrier))
        chosen = _tracer.set(self._tracer)
        try:
            await self._app(scope, receive, send)
        finally:
            _tracer.reset(chosen)
            context.detach(attached)


def use_tracer(tracer: Tracer | None) -> None:
    """Make `tracer` current for what runs from here on in this context (the tasks it
    starts included): `chirp worker`, and the worker `chirp serve` runs in-process."""
    _tracer.set(tracer)


def with_trace(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload of a job queued now, carrying the current span's traceparent when
    tracing is on (a post's fan-out then joins the post's trace); as it is otherwise."""
    if _tracer.get() is None:
        return payload
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return {**payload, TRACE_KEY: carrier[TRACE_KEY]} if TRACE_KEY in carrier else payload


def without_trace(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A queued payload as its handler expects it, and the traceparent it carried."""
    if TRACE_KEY not in payload:
        return payload, None
    rest = {key: value for key, value in payload.items() if key != TRACE_KEY}
    traceparent = payload[TRACE_KEY]
    return rest, traceparent if isinstance(traceparent, str) else None


@contextlib.contextmanager
def job_span(kind: str, traceparents: Sequence[str | None]) -> Iterator[None]:
    """A span per batch of jobs of one kind a worker runs (when a tracer is current), so
    the store calls a fan-out or an indexing batch makes are its children.

    It links the spans that queued its jobs, as OpenTelemetry's messaging conventions do
    for a batch; when they all come from one span (a batch of one, most often), it is also
    that span's child, so the job shows in the trace of the request that queued it."""
    tracer = _tracer.get()
    if tracer is None:
        yield
        return
    producers = list(dict.fromkeys(tp for tp in traceparents if tp))[:MAX_LINKS]
    contexts = [_W3C.extract({TRACE_KEY: tp}) for tp in producers]
    links = [
        Link(span_context)
        for span_context in (trace.get_current_span(c).get_span_context() for c in contexts)
        if span_context.is_valid
    ]
    parent = contexts[0] if len(contexts) == 1 and links else None
    attributes: dict[str, str | int] = {"chirp.job.kind": kind}
    attributes["chirp.job.count"] = len(traceparents)
    with tracer.start_as_current_span(
        f"job {kind}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ):
        yield


class OperationSpan(SchemaExtension):
    """A span per GraphQL operation, named as OpenTelemetry names GraphQL spans ("query
    HomeTimeline"), with the operation's type, name and cost (app/cost.py, as CostLimit
    computed it); the store calls it makes are its children. A subscription's span covers
    subscribing (parsing, validation, limits, opening the event stream); its events are not
    traced."""

    _span: Span | None = None
    _attached: contextvars.Token[Context] | None = None

    def on_operation(self) -> Iterator[None]:
        tracer = _tracer.get()
        if tracer is None:  # not run through the app (a test calling the schema itself)
            yield
            return
        self._span = tracer.start_span("GraphQL Operation", kind=SpanKind.SERVER)
        self._attached = context.attach(trace.set_span_in_context(self._span))
        try:
            yield
        finally:
            self._finish()

    def on_execute(self) -> Iterator[None]:
        yield
        if self._subscription():
            self._finish()  # the event stream is open: subscribing is done

    def _subscription(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.SUBSCRIPTION
        except RuntimeError:  # the document did not parse
            return False

    def _finish(self) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        if self._attached is not None:
            context.detach(self._attached)
        _describe(span, self.execution_context)
        span.end()


def _describe(span: Span, execution: Any) -> None:
    try:
        kind: str | None = execution.operation_type.value
    except RuntimeError:  # the document did not parse
        kind = None
    name = (execution.operation_name or "")[:MAX_NAME]  # the client's to choose
    if kind is not None:
        span.update_name(f"{kind} {name}" if name else kind)
        span.set_attribute("graphql.operation.type", kind)
    if name:
        span.set_attribute("graphql.operation.name", name)
    cost = getattr(execution.context, "extra", {}).get("cost")
    if cost is not None:
        span.set_attribute("chirp.graphql.cost", int(cost))
    errors = getattr(execution.result, "errors", None) or ()
    codes = sorted({str((error.extensions or {}).get("code", "")) for error in errors} - {""})
    if codes:
        span.set_attribute("chirp.graphql.error_codes", codes)
    failures = [code for code in codes if code in SERVER_FAILURES]
    if failures:
        span.set_attribute("error.type", failures[0])
        span.set_status(Status(StatusCode.ERROR, failures[0]))
