"""GraphQL limits, caches and error masking, wired in one place."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType

from app.cost import operation_cost
from app.errors import BadInput, RateLimited, UserError
from app.metrics import METRICS
from app.settings import Settings
from storage.errors import StorageError, Unavailable
from storage.instrumented import start_counting, stop_counting

INTERNAL = "INTERNAL_SERVER_ERROR"
VALIDATION = "GRAPHQL_VALIDATION_FAILED"
PARSE = "GRAPHQL_PARSE_FAILED"
UNAVAILABLE = "UNAVAILABLE"


Rules = tuple[type[ASTValidationRule], ...]
Validate = Callable[[GraphQLSchema, DocumentNode, Rules], list[GraphQLError]]


def cached_validation(suggest: bool, maxsize: int = 1024) -> Validate:
    """graphql-core's validation with strawberry's own rules added (as strawberry's
    ValidationCache runs it), each document once per rule set; `suggest=False` drops
    "Did you mean ...?" from every message (arguments, input fields, types, enum values)."""

    @functools.lru_cache(maxsize=maxsize)
    def validate_document(
        schema: GraphQLSchema, document: DocumentNode, rules: Rules
    ) -> list[GraphQLError]:
        rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
        return validate(schema, document, rules, hide_suggestions=not suggest)

    return validate_document


class CachedValidation(SchemaExtension):
    def __init__(self, validate_document: Validate) -> None:
        self._validate = validate_document

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = self._validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


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


class CostLimit(SchemaExtension):
    """Refuses an operation whose cost (see app/cost.py) is over the limit, before it runs."""

    def __init__(self, max_cost: int) -> None:
        self._max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            cost = operation_cost(
                context.graphql_document, context.operation_name, context.variables
            )
            if cost > self._max_cost:
                raise BadInput(
                    f"This query would cost {cost}, over the limit of {self._max_cost}; "
                    "ask for smaller pages or fewer nested connections.",
                    cost=cost,
                    maxCost=self._max_cost,
                )
        yield


class MutationRateLimit(SchemaExtension):
    """At most N mutations a minute per user, counted in the cache (shared with Redis)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        viewer = getattr(context.context, "viewer_id", None)
        if context.operation_type == OperationType.MUTATION and viewer is not None:
            cache = context.context.chirp.stores.cache
            window = int(time.time() // 60)
            try:
                used = await cache.incr(f"ratelimit:mutations:{viewer}:{window}", 60)
            except StorageError:  # fail open: a cache outage must not stop every write
                used = 0
            if used > self._per_minute:
                raise RateLimited(
                    f"Too many changes: at most {self._per_minute} a minute. Try again shortly.",
                    retryAfterSeconds=60 - int(time.time() % 60),
                )
        yield


class OperationMetrics(SchemaExtension):
    """Counts operations by type and errors by code into the process's /metrics."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse
            kind = "invalid"
        METRICS.operations[kind] += 1
        result = context.result
        for error in getattr(result, "errors", None) or ():
            METRICS.errors[str((error.extensions or {}).get("code", INTERNAL))] += 1


def schema_extensions(settings: Settings) -> list[Any]:
    limits = settings.limits
    # Factories, so each operation gets fresh extension state. The validation limiters are
    # stateless and shared on purpose: they add validation rules, and the validation cache
    # only hits while those rules are the same objects from one request to the next.
    # The parser cache lives at module level inside strawberry; the validation cache here.
    depth = QueryDepthLimiter(max_depth=limits.max_depth)
    aliases = MaxAliasesLimiter(max_alias_count=limits.max_aliases)
    tokens = MaxTokensLimiter(max_token_count=limits.max_tokens)
    validate_document = cached_validation(suggest=not settings.production)
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=1024),
        lambda: CachedValidation(validate_document),
        lambda: depth,
        lambda: aliases,
        lambda: tokens,
        lambda: CostLimit(limits.max_cost),
        lambda: MutationRateLimit(limits.mutations_per_minute),
        OperationMetrics,
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


def mask_in_place(error: GraphQLError) -> None:
    """Hide an unexpected error's message; a store that is down says so, and nothing more."""
    unavailable = isinstance(error.original_error, Unavailable)
    error.message = (
        "A store is unavailable; try again shortly." if unavailable else "Unexpected error."
    )
    error.extensions = {"code": UNAVAILABLE if unavailable else INTERNAL}
