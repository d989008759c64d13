"""The graphql-transport-ws handler: strawberry's, refusing a frame that is JSON but not a
protocol message (`[1,2]`, `42`, a `subscribe` without a string `query`) with close code
4400, as it already does for a frame that is not JSON at all. A subscribe runs the document
its hash names (`extensions.persistedQuery`), and under trusted documents only those."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)

from app.context import Context
from app.persisted import DocumentRefused

_WITH_ID = ("subscribe", "complete")


class ChirpTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Message) -> None:
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)  # closes with 4400 and the reason
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:  # otherwise strawberry closes the socket (4401)
            payload = message["payload"]
            try:
                query = await self.context.chirp.documents.document(
                    payload.get("query"), payload.get("extensions")
                )
            except DocumentRefused as refusal:
                error = GraphQLError(refusal.message, extensions={"code": refusal.code})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
            message = {**message, "payload": {**payload, "query": query}}  # type: ignore[typeddict-item]
        await super().handle_subscribe(message)


def frame_problem(frame: Any) -> str | None:
    """What makes a decoded frame no graphql-transport-ws message; None when it is one.
    Reasons stay short: a close reason holds at most 123 bytes."""
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return "A message must be a JSON object with a string type."
    kind = frame["type"]
    if kind in _WITH_ID and not isinstance(frame.get("id"), str):
        return f"A {kind} message needs a string id."
    if kind != "subscribe":
        return None
    payload = frame.get("payload")
    if not isinstance(payload, dict):
        return "A subscribe payload needs a string query."
    persisted = (
        isinstance(payload.get("extensions"), dict) and "persistedQuery" in payload["extensions"]
    )
    if not isinstance(payload.get("query"), str) and not (
        persisted and payload.get("query") is None
    ):
        return "A subscribe payload needs a string query."
    if not isinstance(payload.get("operationName"), str | None):
        return "A subscribe payload's operationName must be a string or null."
    for key in ("variables", "extensions"):
        if not isinstance(payload.get(key), dict | None):
            return f"A subscribe payload's {key} must be an object or null."
    return None
