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
from app.invalidation import Invalidation, listening
from app.metrics import METRICS
from app.settings import Settings, ensure_secret_key, from_env
from app.worker import Worker
from schema.schema import build_schema
from storage.errors import StorageError
from storage.instrumented import counting
from storage.registry import check_url, open_stores, port_urls

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
        invalidation = None
        if stores.cache.shared:
            caches = {"tweet": chirp.tweet_cache, "user": chirp.user_cache}
            invalidation = Invalidation(stores.events, caches)
            chirp.tweet_cache.announce = chirp.user_cache.announce = invalidation.announce
        stop = asyncio.Event()
        workers = []
        if settings.run_workers:
            worker = Worker(
                stores.queue, chirp.services.fan_out, reclaim_idle_s=settings.reclaim_idle_s
            )
            workers.append(asyncio.create_task(worker.run(stop, wait_s=0.5)))
        try:
            async with contextlib.AsyncExitStack() as stack:
                if invalidation is not None:
                    await stack.enter_async_context(listening(invalidation))
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
    return PlainTextResponse(METRICS.render(), media_type="text/plain; version=0.0.4")


async def readyz(request: Request) -> Response:
    stores = request.app.state.stores
    try:
        await asyncio.wait_for(stores.users.get_many([0]), timeout=2)
        await asyncio.wait_for(stores.tweets.get_many([0]), timeout=2)
    except (StorageError, TimeoutError) as error:
        return JSONResponse({"ready": False, "error": type(error).__name__}, status_code=503)
    return JSONResponse({"ready": True})
