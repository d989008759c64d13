"""Tracing's cost (issue #22): page throughput with OpenTelemetry off (the default), on with
every request traced, and on with 5 % of requests sampled, on the embedded default or, with
the real engines' variables set, on the real engines (bench/stack.py).

The same seed and load as bench/reads.py's P2: wrk drives `homeTimeline(first: 20)` through
50 readers' page cursors, and `{ __typename }` as the floor. The server is restarted for
each setting, --repeats times in turn; with tracing on it exports over OTLP/HTTP to a sink
this bench runs on 127.0.0.1, which counts the spans it receives (so the figures include
exporting, as a server with a collector would). Medians of every round; the baseline is
tracing off, measured in the same run.

    .venv/bin/python bench/tracing.py [--repeats 2] [--seconds 5] [--rounds 2] [--record]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import reads
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from stack import Stack


class Sink(ThreadingHTTPServer):
    """An OTLP/HTTP receiver that counts the spans it is sent and keeps nothing."""

    spans = 0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Receiver(BaseHTTPRequestHandler):
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)
        with self.server.lock:
            self.server.spans += count
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def settings(sink: Sink) -> dict[str, dict[str, str]]:
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "1000"}
    return {
        "off (default)": {},
        "on, every request": traced,
        "on, 5 % sampled": {
            **traced,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.05",
        },
    }


async def main(stack: Stack, args: argparse.Namespace) -> None:
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        async with stack.http(8) as http:
            seeded = await reads.seed(stack, http)
        chosen = settings(sink)
        found: dict[str, dict[str, list[float]]] = {name: {} for name in chosen}
        spans: dict[str, int] = dict.fromkeys(chosen, 0)
        for _ in range(args.repeats):
            for name, env in chosen.items():
                before = sink.spans
                rates = await reads.p2(stack, seeded, args, 1, env)
                await stack.restart_server(1)  # the traced server flushes its spans on exit
                spans[name] += sink.spans - before
                for query in ("floor", "home"):
                    found[name].setdefault(query, []).extend(rates[query])
    finally:
        sink.shutdown()
    text = report(stack, args, found, spans)
    print(text)
    if args.record:
        reads.record(stack, text, "bench/tracing.py")


def report(
    stack: Stack,
    args: argparse.Namespace,
    found: dict[str, dict[str, list[float]]],
    spans: dict[str, int],
) -> str:
    median = {
        name: {k: statistics.median(v) for k, v in rates.items()} for name, rates in found.items()
    }
    off = median["off (default)"]
    lines = [
        f"bench/tracing.py on the {stack.describe()}; {os.cpu_count()} cores, wrk and the "
        "OTLP sink on the same machine.",
        "",
        f"wrk, {args.connections} connections, {args.rounds * args.repeats} rounds of "
        f"{args.seconds:g} s per setting, medians (req/s); ratios against tracing off:",
        "",
        "| tracing | `{ __typename }` | ratio | home pages | ratio | spans exported "
        "| rounds (home) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rates in median.items():
        rounds = ", ".join(f"{r:.0f}" for r in found[name]["home"])
        lines.append(
            f"| {name} | {rates['floor']:.0f} | {rates['floor'] / off['floor']:.2f} | "
            f"{rates['home']:.0f} | {rates['home'] / off['home']:.2f} | {spans[name]:,} | "
            f"{rounds} |"
        )
    return "\n".join(lines)


def cli() -> None:
    reads.repeated_cli(__doc__, main)


if __name__ == "__main__":
    cli()
