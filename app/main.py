"""The ASGI application factory and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from app import container
from app.body_limit import BodySizeLimit
from app.graphql_app import ChirpGraphQL
from app.invalidation import listening
from app.jobs import STREAMS
from app.metrics import METRICS
from app.settings import Settings, ensure_secret_key, from_env
from schema.schema import build_schema
from storage.errors import StorageError
from storage.instrumented import counting
from storage.records import Backlog
from storage.registry import Stores, check_url, open_stores, port_urls

log = logging.getLogger("chirp")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = ensure_secret_key(settings or from_env())
    for port, url in port_urls(settings).items():
        check_url(port, url)  # an unknown scheme fails here, naming the valid ones

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stores = counting(await open_stores(settings), METRICS.store_calls)
        chirp = container.build(settings, stores)
        app.state.chirp = chirp
        app.state.stores = stores
        graphql.bind(chirp)
        stop = asyncio.Event()
        workers = []
        if settings.run_workers:
            workers.append(asyncio.create_task(chirp.worker().run(stop, wait_s=0.5)))
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

    graphql = _LazyGraphQL(settings)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *_media_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    # Media uploads carry their own signed size; everything else is small JSON.
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.limits.max_body_bytes, exempt_prefixes=("/media/",)
    )
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
    backlogs = await _backlogs(request.app.state.stores)
    return PlainTextResponse(METRICS.render(backlogs), media_type="text/plain; version=0.0.4")


async def readyz(request: Request) -> Response:
    """Ready when the stores answer; 503 naming the job streams whose oldest job has waited
    longer than CHIRP_READY_MAX_LAG_S (the workers are not keeping up)."""
    stores = request.app.state.stores
    try:
        await asyncio.wait_for(stores.users.get_many([0]), timeout=2)
        await asyncio.wait_for(stores.tweets.get_many([0]), timeout=2)
    except (StorageError, TimeoutError) as error:
        return JSONResponse({"ready": False, "error": type(error).__name__}, status_code=503)
    backlogs = await _backlogs(stores)
    limit = request.app.state.chirp.settings.ready_max_lag_s
    lagging = sorted(s for s, b in backlogs.items() if b is not None and b.oldest_age_s > limit)
    lag = {s: None if b is None else round(b.oldest_age_s, 3) for s, b in backlogs.items()}
    if lagging:
        body = {"ready": False, "error": "job streams lagging", "lagging": lagging, "lag": lag}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"ready": True, "lag": lag})


async def _backlogs(stores: Stores) -> dict[str, Backlog | None]:
    """Each job stream's backlog; None for a stream whose queue did not answer in time."""

    async def one(stream: str) -> Backlog | None:
        try:
            return await asyncio.wait_for(stores.queues.stream(stream).backlog(), timeout=2)
        except (StorageError, TimeoutError):
            return None

    found = await asyncio.gather(*(one(stream) for stream in STREAMS))
    return dict(zip(STREAMS, found, strict=True))
