"""The graphql-transport-ws handler: strawberry's, refusing a frame that is JSON but not a
protocol message (`[1,2]`, `42`, a `subscribe` without a string `query`) with close code
4400, as it already does for a frame that is not JSON at all."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from app.context import Context

_WITH_ID = ("subscribe", "complete")


class ChirpTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_message(self, message: Message) -> None:
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)  # closes with 4400 and the reason
            return
        await super().handle_message(message)


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
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "A subscribe payload needs a string query."
    if not isinstance(payload.get("operationName"), str | None):
        return "A subscribe payload's operationName must be a string or null."
    for key in ("variables", "extensions"):
        if not isinstance(payload.get(key), dict | None):
            return f"A subscribe payload's {key} must be an object or null."
    return None
