"""GraphQL limits, caches and error masking, wired in one place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from app.errors import UserError
from app.settings import Settings
from storage.errors import Unavailable
from storage.instrumented import start_counting, stop_counting

INTERNAL = "INTERNAL_SERVER_ERROR"
VALIDATION = "GRAPHQL_VALIDATION_FAILED"
PARSE = "GRAPHQL_PARSE_FAILED"
UNAVAILABLE = "UNAVAILABLE"


class CodedMaskErrors(MaskErrors):
    """Unexpected errors become "Unexpected error." with code INTERNAL_SERVER_ERROR; a store
    that is down becomes UNAVAILABLE; errors the client caused keep their message and code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        return is_unexpected(error)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        unavailable = isinstance(error.original_error, Unavailable)
        return GraphQLError(
            message="A store is unavailable; try again shortly." if unavailable else self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": UNAVAILABLE if unavailable else INTERNAL},
        )


class StoreCallCounter(SchemaExtension):
    """Counts store and cache calls of each operation into `extensions.storeCalls`
    (outside production), so an N+1 shows up in a test and in GraphiQL."""

    def on_operation(self) -> Iterator[None]:
        token = start_counting()
        try:
            yield
        finally:
            calls = token.var.get()
            stop_counting(token)
        self._calls = dict(calls or {})

    def get_results(self) -> dict[str, Any]:
        calls = getattr(self, "_calls", {})
        return {"storeCalls": {"total": sum(calls.values()), "byMethod": calls}}


def schema_extensions(settings: Settings) -> list[Any]:
    limits = settings.limits
    # Factories, so each operation gets fresh extension state; the parser and validation
    # caches live at module level inside strawberry and are shared across requests.
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        CodedMaskErrors,
    ]
    if settings.production:
        extensions.append(DisableIntrospection)
    else:
        extensions.append(StoreCallCounter)
    return extensions


def label_request_errors(errors: list[GraphQLError]) -> None:
    """Parse and validation errors (no original exception) get a code of their own."""
    for error in errors:
        if error.original_error is None and not (error.extensions or {}).get("code"):
            code = PARSE if error.message.startswith("Syntax Error") else VALIDATION
            error.extensions = {**(error.extensions or {}), "code": code}


def is_unexpected(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, UserError)
