"""The strawberry ASGI app: reads the viewer from `Authorization: Bearer` (HTTP) or the
`connection_init` payload (websockets) and builds each request's context. A request it cannot
read gets a JSON error with a code (HTTP 4xx), never a plain-text answer or a 500."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from app.container import Chirp
from app.context import Context
from app.errors import error_body
from app.explorer import explorer
from app.persisted import DocumentRefused
from app.websocket import ChirpTransportWSHandler
from storage.errors import StorageError

INVALID_TOKEN = "The access token is invalid or has expired; refresh it or log in again."
NOT_AN_OBJECT = 'The request body must be a JSON object: {"query": "...", "variables": {...}}.'
# The code of each HTTP status strawberry refuses a request with.
REFUSAL_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    503: "UNAVAILABLE",
}
STORE_DOWN = "A store this request needs is unavailable. Try again shortly."
_OBJECT_OR_ARRAY = re.compile(rb"[ \t\n\r]*[{\[]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class UnreadableJSON(json.JSONDecodeError):
    """JSON refused before it is decoded: not UTF-8, or nested deeper than Python recurses.
    A JSONDecodeError, so strawberry's websocket adapter closes with 4400 as for bad JSON."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", 0)


def read_json(data: str | bytes) -> object:
    try:
        text = data.decode() if isinstance(data, bytes) else data
        value = json.loads(text)
    except UnicodeDecodeError as error:
        raise UnreadableJSON(f"The request is not UTF-8 (byte {error.start}).") from None
    except RecursionError:
        raise UnreadableJSON("The request's JSON is nested too deeply.") from None
    # JSON may escape half of a UTF-16 pair alone ("\ud800"): no text, and no store takes it.
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(value):
        raise UnreadableJSON("The request's JSON has a string that is not Unicode text.")
    return value


def _holds_lone_surrogate(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class ChirpGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = ChirpTransportWSHandler

    def __init__(self, chirp: Chirp, schema: Any) -> None:
        super().__init__(
            schema,
            graphql_ide=None if chirp.settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=chirp.settings.limits.max_subscriptions_per_connection,
        )
        self._chirp = chirp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as refusal:
            response = refused(refusal.status_code, refusal.reason)
        except DocumentRefused as refusal:
            response = JSONResponse(
                error_body(refusal.message, refusal.code), status_code=refusal.status
            )
        else:
            if not getattr(request.state, "answered", False):  # GraphiQL's page
                await response(scope, receive, send)
                return
        response.headers.update(cache_headers(request, self._chirp.settings.public_max_age_s))
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return read_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except UnreadableJSON as error:
            raise HTTPException(400, error.msg) from None
        except json.JSONDecodeError as error:
            raise HTTPException(400, f"The request is not valid JSON: {error}.") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Strawberry reads a JSON body as an object (or a batch); `42` or `null` would crash it.
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            body = await request.get_body()
            if not _OBJECT_OR_ARRAY.match(body):
                self.parse_json(body)  # says so if it is not JSON at all
                raise HTTPException(400, NOT_AN_OBJECT)
        parsed = await super().parse_http_body(request)
        if isinstance(parsed, list):
            return [await self._with_document(data) for data in parsed]
        return await self._with_document(parsed)

    async def _with_document(self, data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with the document it runs: persisted ones are named by their hash."""
        query = await self._chirp.documents.document(data.query, data.extensions)
        return data if query is data.query else dataclasses.replace(data, query=query)

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        # What cache_headers reads: an answer was given, and whether all of it may be public.
        public = getattr(request.state, "public", True) and is_public(
            request, result, self._chirp.settings.public_max_age_s
        )
        request.state.answered, request.state.public = True, public
        processed = await super().process_result(request, result)
        extensions = processed.get("extensions")
        if public and extensions:
            # The same answer goes to every anonymous client: no one's rate-limit figures.
            extensions.pop("rateLimit", None)
            if not extensions:
                del processed["extensions"]
        return processed

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # Without GraphiQL (production) a GET with no query is a missing query, not a 404;
        # a GET naming a persisted query by its hash runs it, whatever the client accepts.
        return (
            self.graphql_ide is not None
            and "extensions" not in request.query_params
            and super().should_render_graphql_ide(request)
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        # Chirp's own page: served from the app, nothing from a CDN (app/explorer.py).
        return explorer().response()

    async def _viewer(self, token: str | None, context: Context) -> int | None:
        if not token:
            return None
        try:
            claims = await self._chirp.authenticator.honoured(token)
        except StorageError:  # who is asking cannot be told: retryable, not a crash
            raise HTTPException(503, STORE_DOWN) from None
        if claims is None:
            context.auth_error = INVALID_TOKEN
            return None
        context.claims = claims
        return claims.user_id

    async def get_context(self, request: HTTPConnection, response: Any = None) -> Context:
        context = Context(chirp=self._chirp, viewer_id=None, request=request, response=response)
        if not isinstance(request, WebSocket):
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer":
                context.viewer_id = await self._viewer(token.strip(), context)
            elif scheme:
                context.auth_error = "Send the access token as `Authorization: Bearer <token>`."
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        # `token` or `accessToken`, or the HTTP header as GraphiQL and Apollo's links send it.
        token = (
            params.get("token")
            or params.get("accessToken")
            or params.get("Authorization")
            or params.get("authorization")
            or ""
        )
        if isinstance(token, str) and token.lower().startswith("bearer "):
            token = token[7:]
        if token:
            viewer = await self._viewer(str(token), context)
            if viewer is None:  # closes the socket with 4403 Forbidden
                raise ConnectionRejectionError({"message": INVALID_TOKEN})
            context.viewer_id = viewer
        return UNSET


def is_public(request: Request, result: ExecutionResult, public_max_age_s: int) -> bool:
    """An anonymous query by GET answered without errors is the same for every anonymous
    client, so a CDN may keep it."""
    return (
        public_max_age_s > 0
        and request.method == "GET"
        and not request.headers.get("authorization")
        and not result.errors
    )


def cache_headers(request: Request, public_max_age_s: int) -> dict[str, str]:
    """Public answers may be kept `public_max_age_s`; an answer for a viewer is theirs alone;
    anything else (POST, errors, refusals) is not kept."""
    if request.headers.get("authorization"):
        return {"Cache-Control": "private, no-store", "Vary": "Authorization"}
    if getattr(request.state, "public", False):
        return {"Cache-Control": f"public, max-age={public_max_age_s}", "Vary": "Authorization"}
    return {"Cache-Control": "no-store"}


def refused(status: int, message: str) -> JSONResponse:
    headers = {"Allow": "GET, POST"} if status == 405 else None
    code = REFUSAL_CODES.get(status, "BAD_REQUEST")
    return JSONResponse(error_body(message, code), status_code=status, headers=headers)
