"""GraphQL limits, caches and error masking, wired in one place."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
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

from app import throttle
from app.cost import operation_cost
from app.errors import BadInput, RateLimited, UserError
from app.metrics import METRICS, operation_label
from app.settings import Settings
from app.tracing import OperationSpan
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
            extra = getattr(context.context, "extra", None)
            if isinstance(extra, dict):
                extra["cost"] = cost  # for the read budget
            if cost > self._max_cost:
                raise BadInput(
                    f"This query would cost {cost}, over the limit of {self._max_cost}; "
                    "ask for smaller pages or fewer nested connections.",
                    cost=cost,
                    maxCost=self._max_cost,
                )
        yield


READ_WINDOW_S = 3600
POINTS_PER_COST = 100  # a query costs cost / 100 points, at least 1 (as GitHub's API does)


class ReadBudget(SchemaExtension):
    """A points budget per hour for queries, per viewer (per client address without a
    token), as GitHub's GraphQL API has one: a query costs max(1, ceil(cost / 100)) points,
    counted in the cache. What is left is reported in `extensions.rateLimit`; past the
    budget a query is RATE_LIMITED until the hour turns."""

    def __init__(self, per_hour: int) -> None:
        self._per_hour = per_hour
        self._report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        graphql_context = context.context
        if context.operation_type == OperationType.QUERY and hasattr(graphql_context, "extra"):
            cost = int(graphql_context.extra.get("cost", 1))
            points = max(1, -(-cost // POINTS_PER_COST))
            viewer = graphql_context.viewer_id
            who = (
                f"user:{viewer}"
                if viewer is not None
                else f"address:{throttle.client_address(graphql_context.request)}"
            )
            now = time.time()
            window = int(now // READ_WINDOW_S)
            reset_in = READ_WINDOW_S - int(now % READ_WINDOW_S)
            try:
                used = await graphql_context.chirp.stores.cache.incr(
                    f"ratelimit:read:{who}:{window}", READ_WINDOW_S, points
                )
            except StorageError:  # fail open, as every limit counted in the cache does
                used = points
            self._report = {
                "cost": points,
                "limit": self._per_hour,
                "remaining": max(0, self._per_hour - used),
                "resetAt": datetime.fromtimestamp((window + 1) * READ_WINDOW_S, UTC).isoformat(),
            }
            if used > self._per_hour:
                raise RateLimited(
                    f"The read budget of {self._per_hour} points an hour is used up "
                    "(see extensions.rateLimit); ask for smaller pages, or wait.",
                    retryAfterSeconds=reset_in,
                )
        yield

    def get_results(self) -> dict[str, Any]:
        return {"rateLimit": self._report} if self._report is not None else {}


class MutationRateLimit(SchemaExtension):
    """At most N mutations a minute per user, counted like every other throttle
    (app/throttle.py: a sliding window in the cache, failing open)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        viewer = getattr(context.context, "viewer_id", None)
        if context.operation_type == OperationType.MUTATION and viewer is not None:
            await throttle.spend(
                context.context.chirp.stores.cache,
                "mutations",
                str(viewer),
                self._per_minute,
                60,
                f"changes: at most {self._per_minute} a minute",
            )
        yield


class OperationMetrics(SchemaExtension):
    """Counts operations by type and errors by code into the process's /metrics, and times
    queries and mutations by operation name."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type.value
        except RuntimeError:  # the document did not parse
            kind = "invalid"
        METRICS.operations[kind] += 1
        if kind != "subscription":  # one lasts as long as it is open: no latency
            elapsed = time.perf_counter() - started
            METRICS.operation_seconds.observe(operation_label(context.operation_name), elapsed)
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
        lambda: ReadBudget(limits.read_points_per_hour),
        lambda: MutationRateLimit(limits.mutations_per_minute),
        OperationMetrics,
    ]
    if settings.tracing.enabled:
        extensions.insert(0, OperationSpan)  # first: its span covers every other hook
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
