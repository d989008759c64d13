"""The strawberry ASGI app: reads the viewer from `Authorization: Bearer` (HTTP) or the
`connection_init` payload (websockets) and builds each request's context."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.container import Chirp
from app.context import Context

INVALID_TOKEN = "The access token is invalid or has expired; refresh it or log in again."


class ChirpGraphQL(GraphQL[Context, None]):
    def __init__(self, chirp: Chirp, schema: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None if chirp.settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=chirp.settings.limits.max_subscriptions_per_connection,
        )
        self._chirp = chirp

    def _viewer(self, token: str | None, context: Context) -> int | None:
        if not token:
            return None
        viewer = self._chirp.access_tokens.verify(token)
        if viewer is None:
            context.auth_error = INVALID_TOKEN
        return viewer

    async def get_context(self, request: HTTPConnection, response: Any = None) -> Context:
        context = Context(chirp=self._chirp, viewer_id=None, request=request, response=response)
        if not isinstance(request, WebSocket):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                context.viewer_id = self._viewer(token.strip(), context)
            elif scheme:
                context.auth_error = "Send the access token as `Authorization: Bearer <token>`."
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = params.get("token") or params.get("accessToken") or ""
        if isinstance(token, str) and token.lower().startswith("bearer "):
            token = token[7:]
        if token:
            viewer = self._viewer(str(token), context)
            if viewer is None:  # closes the socket with 4403 Forbidden
                raise ConnectionRejectionError({"message": INVALID_TOKEN})
            context.viewer_id = viewer
        return UNSET
