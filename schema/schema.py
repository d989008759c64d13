"""The schema: Query, Mutation (and later Subscription) assembled from resolvers/."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from app.extensions import is_unexpected, label_request_errors, mask_in_place, schema_extensions
from app.request_errors import (
    NamedOperationContext,
    QuietRequestExecutor,
    RequestExecutor,
    without_subscriptions,
)
from app.settings import Settings
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.tweet import Tweet
from schema.user import User


class ChirpSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        label_request_errors(errors)
        # Errors the client caused are answers, not incidents: log only the unexpected ones.
        unexpected = [e for e in errors if is_unexpected(e)]
        super().process_errors(unexpected, execution_context)
        # Then mask them in place, on every path (execution, extensions, subscriptions).
        for error in unexpected:
            mask_in_place(error)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        # Only the HTTP view calls this; subscriptions go through `stream` (the websocket).
        if allowed_operation_types is None:
            allowed_operation_types = DEFAULT_ALLOWED_OPERATION_TYPES
        allowed = without_subscriptions(allowed_operation_types)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed,
            operation_extensions,
        )

    def _create_execution_context(
        self,
        query: str | None,
        allowed_operation_types: Iterable[OperationType],
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionContext:
        return NamedOperationContext(
            query=query,
            schema=self,
            allowed_operations=allowed_operation_types,
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
        )


# strawberry's own JSON scalar points at a page outside the project; this one says it here.
JSON_SCALAR = strawberry.scalar(
    name="JSON",
    description="Any JSON value: an object, an array, a string, a number, true, false or null.",
    serialize=lambda value: value,
    parse_value=lambda value: value,
)
# strawberry's own DateTime, told as a client meets it; only the description differs.
DATETIME_SCALAR = replace(
    DateTimeDefinition,
    description="A moment as an ISO 8601 string in UTC, such as "
    "2026-01-31T12:00:00.123000+00:00: millisecond precision, no fraction when it is zero.",
    implementation=None,
)


def build_schema(settings: Settings) -> strawberry.Schema:
    return ChirpSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[User, Tweet],
        extensions=schema_extensions(settings),
        execution_context_class=_executor(settings),
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        scalar_overrides={JSON: JSON_SCALAR, datetime: DATETIME_SCALAR},
    )


def _executor(settings: Settings) -> type[RequestExecutor]:
    base = QuietRequestExecutor if settings.production else RequestExecutor
    return type(base.__name__, (base,), {"execution": settings.execution})


def printed_schema() -> str:
    """The SDL checked in as schema.graphql (the same for every setting)."""
    return build_schema(Settings()).as_str() + "\n"
