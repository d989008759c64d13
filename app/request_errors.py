"""Requests graphql-core refuses to run, answered as client errors with a code.

Before any resolver runs, graphql-core picks the operation and coerces the variables; what
it refuses there (several operations and none named, a variable of the wrong type, NaN for an
Int, an unknown input field) is the client's mistake, not an incident to log and mask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

BAD_REQUEST = "BAD_REQUEST"
BAD_USER_INPUT = "BAD_USER_INPUT"


class RequestExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, whose refusals carry a code; `QuietRequestExecutor` also
    drops "Did you mean ...?" from them (production)."""

    suggest = True

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        built = super().build(*args, **{**kwargs, "hide_suggestions": not cls.suggest})
        return _as_request_errors(built) if isinstance(built, list) else built

    def build_per_event_executor(self, payload: Any) -> Any:
        """graphql-core 3.3 gives each subscription event a shallow copy of the executor,
        sharing its memo of collected subfields. That memo is keyed by the identity of
        each event's own (new) field lists, so it grew by about a kilobyte per event for as
        long as the subscription lived: the soak's server grew 4.5 MB a minute. Each event
        gets a memo of its own, dropped with it."""
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor


class QuietRequestExecutor(RequestExecutor):
    suggest = False


def _as_request_errors(errors: list[GraphQLError]) -> list[GraphQLError]:
    # A variable's errors point at its definition; "which operation?" points nowhere.
    code = BAD_USER_INPUT if any(error.nodes for error in errors) else BAD_REQUEST
    return [
        GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={**(error.extensions or {}), "code": code},
        )
        for error in errors
    ]


class NamedOperationContext(ExecutionContext):
    """Strawberry runs the first of several operations when the request names none; then
    this names none either, and graphql-core refuses: "Must provide operation name if query
    contains multiple operations."."""

    @property
    def operation_name(self) -> str | None:
        document = self.graphql_document
        if self._provided_operation_name is None and document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                return None
        return super().operation_name


def without_subscriptions(allowed: Iterable[OperationType]) -> set[OperationType]:
    """A subscription needs a stream (the websocket); `Schema.execute` would run its resolver
    as if it were a query field and fail inside, so it is refused before it runs."""
    return set(allowed) - {OperationType.SUBSCRIPTION}
