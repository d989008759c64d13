"""Requests graphql-core refuses to run, answered as client errors with a code.

Before any resolver runs, graphql-core picks the operation and coerces the variables; what
it refuses there (several operations and none named, a variable of the wrong type, NaN for an
Int, an unknown input field) is the client's mistake, not an incident to log and mask.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from app import compiled
from app.metrics import METRICS
from storage.instrumented import (
    forget_failures,
    pause_counting,
    remember_failures,
    resume_counting,
)

log = logging.getLogger("chirp.execution")

BAD_REQUEST = "BAD_REQUEST"
BAD_USER_INPUT = "BAD_USER_INPUT"


class RequestExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, whose refusals carry a code; `QuietRequestExecutor` also
    drops "Did you mean ...?" from them (production)."""

    suggest = True
    execution = "compiled"  # see app/compiled.py; build_schema sets it from the settings

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

    def execute_operation(self, serially: bool | None = None) -> Any:
        """A query runs by its compiled plan (app/compiled.py) unless `execution` says
        otherwise; graphql-core runs whatever the plan cannot answer."""
        if self.execution == "graphql-core" or self.operation.operation.value != "query":
            return super().execute_operation(serially)
        plan = compiled.PLANS.root(self)
        if plan is None:
            METRICS.execution["graphql-core"] += 1
            return super().execute_operation(serially)
        if self.execution == "verify":
            return self._verified(plan, serially)
        return self._compiled(plan, serially)

    async def _compiled(self, plan: compiled.Plan, serially: bool | None) -> Any:
        remembered = remember_failures()
        try:
            try:
                data = await compiled.run(self, plan)
            except Exception:  # graphql-core gives the errors: it runs the query again
                METRICS.execution["fallback"] += 1
                return await await_maybe(super().execute_operation(serially))
        finally:
            forget_failures(remembered)
        METRICS.execution["compiled"] += 1
        return self.build_response(data)

    async def _verified(self, plan: compiled.Plan, serially: bool | None) -> Any:
        """graphql-core answers; the plan runs after it, uncounted, and must agree. When it
        does not, graphql-core runs once more: if that answer differs from its first, the
        data changed under the request (a delivery landed, say) and nothing is compared;
        if it is the same, the plan is wrong and the request fails."""
        expected: Any = await await_maybe(super().execute_operation(serially))
        if expected.errors:
            METRICS.execution["fallback"] += 1
            return expected  # the plan would hand it to graphql-core: nothing to compare
        paused = pause_counting()
        try:
            try:
                data = await compiled.run(self, plan)
            except Exception as error:
                # graphql-core answered without an error, so the plan need not have
                # declined: counted apart, as work the plan could still learn.
                METRICS.execution["declined"] += 1
                log.info("the compiled plan declined a query graphql-core answered: %r", error)
                return expected
            METRICS.execution["compiled"] += 1
            if _same(data, expected.data):
                return expected
            again: Any = await await_maybe(super().execute_operation(serially))
        finally:
            resume_counting(paused)
        if not again.errors and _same(again.data, expected.data):
            METRICS.execution["mismatch"] += 1
            raise compiled.Mismatch(expected.data, expected.errors, data)
        METRICS.execution["unsettled"] += 1  # the data moved between the runs
        return expected


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a) == json.dumps(b)


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
