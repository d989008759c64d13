"""Traces (app/tracing.py): a home timeline page is one trace, an operation span whose
children are the store calls it made, on both profiles; a caller's `traceparent` is
honoured; tracing off records nothing; and `chirp serve` exports over OTLP/HTTP."""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from graphql import parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.testclient import TestClient

import storage.ports
from app.cost import operation_cost
from app.main import create_app
from app.settings import Settings, SettingsError, Tracing, from_env
from app.tracing import Traces, job_span, use_tracer, without_trace
from storage.instrumented import READS, WRITES
from storage.registry import migrate_all
from tests.support.browser import chirp_serve
from tests.support.client import GraphQLClient, embedded_settings, eventually
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.redis_server import RedisServer

TRACED = Tracing(exporters=("otlp",))
# A home page as a client shows it: who is reading, then the timeline with each author.
HOME = """query HomeTimeline($first: Int!) {
  me { username followingCount }
  homeTimeline(first: $first) {
    edges { cursor node { id text likeCount viewerHasLiked
      author { username displayName followersCount } } }
    pageInfo { hasNextPage endCursor } } }"""
VARIABLES = {"first": 10}
ENGINES_AT_LEAST = {
    "embedded": {"sqlite", "memory"},
    "engines": {"postgresql", "cassandra", "redis"},
}
PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"


@contextmanager
def app_exporting_to(settings: Settings, exporter: InMemorySpanExporter) -> Iterator[GraphQLClient]:
    asyncio.run(migrate_all(settings))
    with TestClient(create_app(settings, span_exporter=exporter)) as http:
        yield GraphQLClient(http)


def home_page_of_a_follower(client: GraphQLClient) -> str:
    """Sign up a reader and an author, follow, post; the reader's token once the tweet is
    in the reader's home timeline."""
    reader = client.sign_up(unique("reader"))
    author = client.sign_up(unique("author"))
    client.follow(reader["accessToken"], author["user"]["id"])
    client.post_tweet(author["accessToken"], "a traced tweet")
    eventually(lambda: client.home(reader["accessToken"])["edges"])
    return str(reader["accessToken"])


def read_home(client: GraphQLClient, token: str, **headers: str) -> dict[str, Any]:
    response = client.http.post(
        "/graphql",
        json={"query": HOME, "variables": VARIABLES},
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    assert body["data"]["homeTimeline"]["edges"][0]["node"]["text"] == "a traced tweet"
    return dict(body)


def operation_span(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_home_timeline_page_is_one_trace_of_its_store_calls(profile: str, tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = settings_on(profile, tmp_path).with_overrides(tracing=TRACED)
    with app_exporting_to(settings, exporter) as client:
        token = home_page_of_a_follower(client)
        exporter.clear()
        body = read_home(client, token)
    spans = exporter.get_finished_spans()
    operation = operation_span(spans, "query HomeTimeline")
    assert operation.kind is SpanKind.SERVER
    assert operation.parent is None  # no traceparent: a trace of its own
    attributes = dict(operation.attributes or {})
    assert attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "HomeTimeline",
        "chirp.graphql.cost": operation_cost(parse(HOME), "HomeTimeline", VARIABLES),
    }
    assert operation.status.status_code is StatusCode.UNSET
    trace_id = operation.context.trace_id
    in_trace = [span for span in spans if span.context.trace_id == trace_id]
    children = [span for span in in_trace if span is not operation]
    # Every other span of the trace is a store call made by the operation, nothing deeper.
    assert children
    for child in children:
        assert child.parent is not None and child.parent.span_id == operation.context.span_id
        assert child.kind is SpanKind.CLIENT
        port, method = child.name.split(".")
        child_attributes = dict(child.attributes or {})
        assert child_attributes["chirp.store.port"] == port
        assert child_attributes["db.operation.name"] == method
        assert child_attributes["chirp.store.kind"] in ("read", "write")
        assert operation.start_time <= child.start_time <= child.end_time <= operation.end_time
    systems = {dict(child.attributes or {})["db.system"] for child in children}
    assert ENGINES_AT_LEAST[profile] <= systems
    # Each call the operation counted (extensions.storeCalls) has its span; the test
    # settings run each query twice (CHIRP_EXECUTION=verify), so some have two.
    counted = body["extensions"]["storeCalls"]["byMethod"]
    assert set(counted) <= {child.name for child in children}
    timeline = [c for c in children if c.name in ("timelines.page", "timelines.pages")]
    assert timeline
    assert {dict(c.attributes or {})["chirp.store.kind"] for c in timeline} == {"read"}


POST = """mutation PostTweet($input: PostTweetInput!) { postTweet(input: $input) { id } }"""


@pytest.mark.parametrize("profile", PROFILES)
def test_the_jobs_of_a_post_are_spans_of_their_store_calls_in_the_posts_trace(
    profile: str, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    settings = settings_on(profile, tmp_path).with_overrides(tracing=TRACED)
    with app_exporting_to(settings, exporter) as client:
        reader = client.sign_up(unique("reader"))
        author = client.sign_up(unique("author"))
        client.follow(reader["accessToken"], author["user"]["id"])
        client.data(POST, {"input": {"text": "a traced tweet"}}, author["accessToken"])
        eventually(lambda: client.home(reader["accessToken"])["edges"])
        spans = exporter.get_finished_spans()
    post = operation_span(spans, "mutation PostTweet")
    fan_out = [
        span
        for span in spans
        if span.name == "job fan_out" and span.context.trace_id == post.context.trace_id
    ]
    # The job queued by the post is in the post's trace: the operation's child, and linked.
    assert len(fan_out) == 1, sorted({span.name for span in spans})
    job = fan_out[0]
    assert job.kind is SpanKind.CONSUMER
    assert dict(job.attributes or {})["chirp.job.kind"] == "fan_out"
    assert job.parent is not None and job.parent.span_id == post.context.span_id
    assert [link.context.span_id for link in job.links] == [post.context.span_id]
    assert job.start_time >= post.start_time
    in_trace = {span.name for span in spans if span.context.trace_id == post.context.trace_id}
    assert {"job index", "job notify"} <= in_trace  # the post's other jobs too
    calls = [s for s in spans if s.parent is not None and s.parent.span_id == job.context.span_id]
    # The delivery into the follower's home timeline is one of the job's own calls.
    pushes = [span for span in calls if span.name.startswith("timelines.push")]
    assert pushes, [span.name for span in calls]
    assert {dict(span.attributes or {})["chirp.store.kind"] for span in pushes} == {"write"}


def test_a_batch_of_jobs_from_many_requests_links_each_of_them() -> None:
    """A batch's jobs were queued by several requests: its span starts a trace of its own
    and links each one (once); a job queued without tracing adds nothing."""
    exporter = InMemorySpanExporter()
    traces = Traces(TRACED, exporter=exporter)
    producers = [f"00-{n:032x}-{n:016x}-01" for n in (1, 2)]
    use_tracer(traces.tracer)
    try:
        with job_span("fan_out", [producers[0], None, producers[1], producers[0]]):
            pass
    finally:
        use_tracer(None)
    (span,) = exporter.get_finished_spans()
    assert span.parent is None
    linked = [(link.context.trace_id, link.context.span_id) for link in span.links]
    assert linked == [(1, 1), (2, 2)]
    assert dict(span.attributes or {})["chirp.job.count"] == 4
    payload, traceparent = without_trace({"tweet_id": 7, "traceparent": producers[0]})
    assert (payload, traceparent) == ({"tweet_id": 7}, producers[0])


def test_a_callers_traceparent_makes_the_operation_its_child(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = embedded_settings(tmp_path).with_overrides(tracing=TRACED)
    with app_exporting_to(settings, exporter) as client:
        token = home_page_of_a_follower(client)
        exporter.clear()
        read_home(client, token, traceparent=TRACEPARENT)
    spans = exporter.get_finished_spans()
    operation = operation_span(spans, "query HomeTimeline")
    assert operation.parent is not None and operation.parent.is_remote
    assert format(operation.context.trace_id, "032x") == PARENT_TRACE
    assert format(operation.parent.span_id, "016x") == PARENT_SPAN
    assert all(format(span.context.trace_id, "032x") == PARENT_TRACE for span in spans)


def test_subscribing_is_traced_in_the_connections_trace(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = embedded_settings(tmp_path).with_overrides(tracing=TRACED)
    with app_exporting_to(settings, exporter) as client:
        author = client.sign_up(unique("author"))
        reader = client.sign_up(unique("reader"))
        client.follow(reader["accessToken"], author["user"]["id"])
        headers = {"traceparent": TRACEPARENT}
        with client.http.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"], headers=headers
        ) as ws:
            init = {"type": "connection_init", "payload": {"token": reader["accessToken"]}}
            ws.send_text(json.dumps(init))
            assert json.loads(ws.receive_text())["type"] == "connection_ack"
            query = "subscription HomeUpdates { homeTimeline { tweet { text } } }"
            ws.send_text(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": query}}))
            client.post_tweet(author["accessToken"], "live")
            while (message := json.loads(ws.receive_text()))["type"] == "ping":
                ws.send_text(json.dumps({"type": "pong"}))
            assert message["payload"]["data"]["homeTimeline"]["tweet"] == {"text": "live"}
    subscribed = operation_span(exporter.get_finished_spans(), "subscription HomeUpdates")
    assert format(subscribed.context.trace_id, "032x") == PARENT_TRACE
    assert dict(subscribed.attributes or {})["graphql.operation.type"] == "subscription"


def test_a_failed_store_call_is_an_error_span(tmp_path: Path) -> None:
    """The cache is gone: the read budget's count fails (and fails open, so the query is
    answered); its span says so, the operation's does not."""
    exporter = InMemorySpanExporter()
    with RedisServer(tmp_path / "redis") as redis:
        settings = embedded_settings(tmp_path, cache_url=redis.url, tracing=TRACED)
        with app_exporting_to(settings, exporter) as client:
            name = client.sign_up(unique("someone"))["user"]["username"]
            redis.kill()
            exporter.clear()
            query = "query Someone($u: String!) { user(username: $u) { username } }"
            assert client.data(query, {"u": name}) == {"user": {"username": name}}
    spans = exporter.get_finished_spans()
    operation = operation_span(spans, "query Someone")
    assert operation.status.status_code is StatusCode.UNSET
    [counted] = [span for span in spans if span.name == "cache.incr"]
    assert counted.parent is not None and counted.parent.span_id == operation.context.span_id
    assert counted.status.status_code is StatusCode.ERROR
    assert dict(counted.attributes or {})["db.system"] == "redis"
    assert dict(counted.attributes or {})["error.type"] == "Unavailable"


def test_tracing_off_records_no_span(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    settings = embedded_settings(tmp_path)
    assert not settings.tracing.enabled  # the default
    with app_exporting_to(settings, exporter) as client:
        token = home_page_of_a_follower(client)
        read_home(client, token, traceparent=TRACEPARENT)
    assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Tracing()),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, Tracing(("otlp",))),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"},
            Tracing(("otlp",), "http://127.0.0.1:4318/v1/traces"),
        ),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/traces",
                "OTEL_SERVICE_NAME": "chirp-eu",
            },
            Tracing(("otlp",), "http://127.0.0.1:9/traces", "chirp-eu"),
        ),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, Tracing(("console", "otlp"))),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://h"}, Tracing()),
        ({"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, Tracing()),
    ],
)
def test_tracing_is_configured_by_the_standard_variables(
    env: dict[str, str], expected: Tracing
) -> None:
    assert from_env(env).tracing == expected


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_tracing_chirp_cannot_do_fails_at_start_up(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        from_env(env)


def test_every_port_method_is_a_read_or_a_write() -> None:
    methods = {
        name
        for port in vars(storage.ports).values()
        if inspect.isclass(port) and port.__module__ == storage.ports.__name__
        for name, member in vars(port).items()
        if inspect.iscoroutinefunction(member)
    }
    assert not READS & WRITES
    assert methods - (READS | WRITES) == set(), "classify these in storage/instrumented.py"


class OTLPReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: the spans it was sent, with their
    service's name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, dict[str, Any]]] = []  # (service, span, attributes)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.take(self.path, body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, path: str, body: bytes) -> None:
        assert path == "/v1/traces", path
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value for a in span.attributes}
                    self.spans.append((resource["service.name"], span.name, attributes))

    @contextmanager
    def running(self) -> Iterator[OTLPReceiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()


def test_chirp_serve_exports_the_operation_span_over_otlp(tmp_path: Path) -> None:
    with OTLPReceiver().running() as receiver:
        otel = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "OTEL_SERVICE_NAME": "chirp-under-test",
        }
        with chirp_serve(embedded_settings(tmp_path), **otel) as url:
            signed_up = httpx2.post(
                f"{url}/graphql",
                json={
                    "query": "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }",
                    "variables": {
                        "i": {"username": "otlp", "email": "o@example.com", "password": "p" * 12}
                    },
                },
            ).json()
            token = signed_up["data"]["signUp"]["accessToken"]
            answer = httpx2.post(
                f"{url}/graphql",
                json={"query": "query Me { me { username } }"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            assert answer["data"] == {"me": {"username": "otlp"}}

            def exported() -> list[tuple[str, str, dict[str, Any]]]:
                return [span for span in receiver.spans if span[1] == "query Me"]

            [(service, _, attributes)] = eventually(exported, timeout_s=10)
    assert service == "chirp-under-test"
    assert attributes["graphql.operation.name"].string_value == "Me"
    assert attributes["chirp.graphql.cost"].int_value == operation_cost(
        parse("query Me { me { username } }"), "Me", {}
    )
    assert any(span[1] == "mutation" for span in receiver.spans)  # the anonymous sign-up
