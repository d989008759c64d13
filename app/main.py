"""The ASGI application factory and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from app import container
from app.body_limit import BodySizeLimit
from app.explorer import explorer
from app.graphql_app import ChirpGraphQL
from app.invalidation import listening
from app.jobs import STREAMS
from app.metrics import METRICS
from app.settings import Settings, ensure_secret_key, from_env
from app.tracing import TraceContext, Traces, use_tracer
from app.web_client import WebClient
from schema.schema import build_schema
from storage.errors import StorageError
from storage.instrumented import counting
from storage.records import Backlog
from storage.registry import Stores, check_url, open_stores, port_urls, scheme_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("chirp")


def create_app(
    settings: Settings | None = None, *, span_exporter: SpanExporter | None = None
) -> Starlette:
    """`span_exporter`: instead of the one the settings name, when tracing is on (tests)."""
    settings = ensure_secret_key(settings or from_env())
    for port, url in port_urls(settings).items():
        check_url(port, url)  # an unknown scheme fails here, naming the valid ones

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stores = counting(
            await open_stores(settings), METRICS.store_calls, METRICS.store_seconds, traces.tracer
        )
        chirp = container.build(settings, stores)
        app.state.chirp = chirp
        app.state.stores = stores
        graphql.bind(chirp)
        stop = asyncio.Event()
        workers = []
        if settings.run_workers:
            use_tracer(traces.tracer)  # the in-process worker's jobs get spans too
            workers.append(asyncio.create_task(chirp.worker().run(stop, wait_s=0.5)))
        elif not chirp.views.shared:
            # No worker here, and no other process sees this one's view tally: flush it.
            workers.append(asyncio.create_task(chirp.views.run(stop)))
        try:
            async with contextlib.AsyncExitStack() as stack:
                if chirp.invalidation is not None:
                    await stack.enter_async_context(listening(chirp.invalidation))
                yield
        finally:
            stop.set()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=5)
            await stores.close()
            traces.shutdown()  # the spans still buffered go out

    traces = Traces(settings.tracing, span_exporter)
    graphql = _LazyGraphQL(settings)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql),  # any method: strawberry answers 405 in JSON
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *_media_routes(),
        *WebClient().routes(),  # the web client at / (a product page: production too)
        *([] if settings.production else explorer().routes()),  # GraphiQL's files
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    # Media uploads carry their own signed size; everything else is small JSON.
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.limits.max_body_bytes, exempt_prefixes=("/media/",)
    )
    if traces.tracer is not None:
        app.add_middleware(TraceContext, tracer=traces.tracer)
    return app


class _LazyGraphQL:
    """The GraphQL endpoint, bound to the stores once the lifespan has opened them."""

    def __init__(self, settings: Settings) -> None:
        self._schema = build_schema(settings)
        self._app: ChirpGraphQL | None = None

    def bind(self, chirp: container.Chirp) -> None:
        self._app = ChirpGraphQL(chirp, self._schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            raise RuntimeError("the GraphQL endpoint is used before the app started")
        await self._app(scope, receive, send)


def _media_routes() -> list[BaseRoute]:
    from app.media_routes import media_routes

    return list(media_routes())


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def metrics(request: Request) -> Response:
    """Prometheus text, behind `Authorization: Bearer $CHIRP_METRICS_TOKEN` when that is set;
    in production without a token it is not served at all (404), so it is never public."""
    settings = request.app.state.chirp.settings
    if settings.metrics_token:
        if not _bearer_matches(request, settings.metrics_token):
            return PlainTextResponse(
                "Send the metrics token as `Authorization: Bearer <token>`.",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    elif settings.production:
        return PlainTextResponse("Not Found", status_code=404)
    backlogs = await _backlogs(request.app.state.stores)
    return PlainTextResponse(METRICS.render(backlogs), media_type="text/plain; version=0.0.4")


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    # Bytes: compare_digest refuses non-ASCII text, and a header may carry any byte.
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


PING_TIMEOUT_S = 2.0
ENGINE_NAMES = {"postgresql": "postgresql", "cassandra": "cassandra", "sqlite": "sqlite",
                "http": "elasticsearch", "https": "elasticsearch"}  # fmt: skip


async def readyz(request: Request) -> Response:
    """Ready when every engine the stores need answers (each shard, each node; checked at
    once, each within PING_TIMEOUT_S); 503 naming the engines that do not, or the job
    streams whose oldest job has waited longer than CHIRP_READY_MAX_LAG_S (the workers are
    not keeping up)."""
    stores = request.app.state.stores
    urls = port_urls(request.app.state.chirp.settings)
    ports = {"users": stores.users, "tweets": stores.tweets, "search": stores.search}
    answers = await asyncio.gather(
        *(_ping(store) for store in ports.values()), return_exceptions=False
    )
    engines = {
        port: {
            "engine": _engine(urls[port]),
            "ok": error is None,
            **({"error": error} if error else {}),
        }
        for port, error in zip(ports, answers, strict=True)
    }
    failed = [port for port, error in zip(ports, answers, strict=True) if error]
    unavailable = sorted({_engine(urls[port]) for port in failed})
    if unavailable:
        body = {"ready": False, "error": "engines unavailable", "unavailable": unavailable}
        return JSONResponse({**body, "engines": engines}, status_code=503)
    backlogs = await _backlogs(stores)
    limit = request.app.state.chirp.settings.ready_max_lag_s
    lagging = sorted(s for s, b in backlogs.items() if b is not None and b.oldest_age_s > limit)
    lag = {s: None if b is None else round(b.oldest_age_s, 3) for s, b in backlogs.items()}
    if lagging:
        body = {"ready": False, "error": "job streams lagging", "lagging": lagging, "lag": lag}
        return JSONResponse({**body, "engines": engines}, status_code=503)
    return JSONResponse({"ready": True, "lag": lag, "engines": engines})


async def _ping(store: Any) -> str | None:
    """None when the store answered, else what went wrong (for an operator to read)."""
    try:
        await asyncio.wait_for(store.ping(), timeout=PING_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {PING_TIMEOUT_S:g} s"
    except StorageError as error:
        return f"{type(error).__name__}: {str(error)[:200]}"
    return None


def _engine(url: str) -> str:
    return ENGINE_NAMES.get(scheme_of(url), scheme_of(url))


async def _backlogs(stores: Stores) -> dict[str, Backlog | None]:
    """Each job stream's backlog; None for a stream whose queue did not answer in time."""

    async def one(stream: str) -> Backlog | None:
        try:
            return await asyncio.wait_for(stores.queues.stream(stream).backlog(), timeout=2)
        except (StorageError, TimeoutError):
            return None

    found = await asyncio.gather(*(one(stream) for stream in STREAMS))
    return dict(zip(STREAMS, found, strict=True))
