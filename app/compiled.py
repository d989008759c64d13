"""A compiled execution path for queries: what graphql-core works out for every field of
every object on every request (which fields a selection merges to, each field's definition
and resolver, how its type completes) is worked out once per document and kept as a plan;
a request then runs the plan. Strawberry's plain attribute fields are read directly (no
resolve info built for them), leaves are serialized in one call, and sibling resolvers
still run concurrently, so DataLoader batches are what graphql-core's are.

The plan answers only when graphql-core would answer without an error. Anything else (a
resolver raising, a null in a non-null position, a value a scalar refuses, a runtime type
that does not fit) raises `Fallback`, and the whole operation runs through graphql-core
instead, which gives its errors and null propagation exactly. Queries only: re-running a
query is safe, and so is a read's view count (counted once per viewer). Documents with
directives (@skip, @include, @defer, @stream), introspection root fields or fragment
arguments are not compiled at all.

`CHIRP_EXECUTION` picks the path: `compiled` (the default), `graphql-core`, or `verify`
(the tests' setting: graphql-core answers, the plan runs too, and any difference in the
JSON of their data fails the request).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
    OperationType,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.language import SelectionSetNode
from graphql.pyutils import Path, Undefined

MODES = ("compiled", "graphql-core", "verify")
MAX_PLANS = 1024
BACKREF = "strawberry-definition"  # where strawberry keeps a field's definition

Complete = Callable[["Run", Any, Path | None], Any]


class Fallback(Exception):
    """The plan cannot give graphql-core's answer: graphql-core runs the operation."""


class Mismatch(Exception):
    """`verify`: the plan's data differs from graphql-core's answer."""

    def __init__(self, expected: Any, errors: Any, found: Any) -> None:
        where = "errors" if errors else _first_difference(expected, found, [])
        super().__init__(
            f"the compiled plan differs from graphql-core at {where}: graphql-core answered "
            f"{expected!r} with errors {errors!r}; the plan answered {found!r}"
        )


def _first_difference(a: Any, b: Any, path: list[Any]) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} and {list(b)}"
        for key in a:
            if a[key] != b[key] or type(a[key]) is not type(b[key]):
                return _first_difference(a[key], b[key], [*path, key])
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y or type(x) is not type(y):
                return _first_difference(x, y, [*path, n])
    return f"{path}: {a!r} and {b!r}"


class Run:
    """One request's run of a plan: its executor (for resolve info), and each field's
    arguments, worked out once for all the objects it is asked on."""

    __slots__ = ("arguments", "executor")

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.arguments: dict[int, dict[str, Any]] = {}

    def info(self, field: CompiledField, path: Path) -> Any:
        """The resolve info graphql-core gives the field: its path, not an item's."""
        while isinstance(path.key, int) and path.prev is not None:
            path = path.prev
        return self.executor.build_resolve_info(field.definition, field.nodes, field.parent, path)

    def args(self, field: CompiledField) -> dict[str, Any]:
        found = self.arguments.get(id(field))
        if found is None:
            executor = self.executor
            details = field.details[0]
            found = get_argument_values(
                field.definition,
                details.node,
                executor.variable_values,
                details.fragment_variable_values,
                executor.hide_suggestions,
            )
            self.arguments[id(field)] = found
        return found


class CompiledField:
    """One response key of a selection on one object type."""

    __slots__ = (
        "attribute",
        "call",
        "complete",
        "definition",
        "details",
        "getter",
        "has_args",
        "key",
        "leaf",
        "nodes",
        "parent",
        "resolve",
        "subplans",
        "typename",
    )

    def __init__(
        self,
        key: str,
        definition: GraphQLField,
        details: Any,
        parent: GraphQLObjectType,
        schema: Any,
    ) -> None:
        self.key = key
        self.parent = parent
        self.definition = definition
        self.details = details
        self.nodes: list[FieldNode] = [d.node for d in details]
        self.typename = self.nodes[0].name.value == "__typename"
        self.resolve = definition.resolve
        self.has_args = bool(definition.args or self.nodes[0].arguments)
        # Strawberry's basic field (no resolver, no extension): its default resolver on
        # the attribute, exactly what `_get_basic_result` calls.
        self.attribute: str | None = None
        self.getter: Callable[[Any, str], Any] | None = None
        strawberry_field = (definition.extensions or {}).get(BACKREF)
        if (
            strawberry_field is not None
            and strawberry_field.is_basic_field
            and getattr(definition.resolve, "__name__", "") == "_get_basic_result"
        ):
            self.attribute = strawberry_field.python_name
            self.getter = strawberry_field.default_resolver
        self.call: Direct | None = None
        if strawberry_field is not None and self.attribute is None:
            self.call = _direct(definition, strawberry_field, schema)
        self.subplans: dict[str, Plan] = {}
        self.leaf = _is_leaf(definition.type)
        self.complete: Complete = _completer(definition.type, self, schema)

    def subplan(self, run: Run, runtime_type: GraphQLObjectType) -> Plan:
        plan = self.subplans.get(runtime_type.name)
        if plan is None:
            executor = run.executor
            grouped, _, _ = collect_subfields(
                executor.schema,
                executor.fragments,
                executor.variable_values,
                executor.operation,
                runtime_type,
                self.details,
                executor.hide_suggestions,
            )
            plan = Plan(runtime_type, grouped, executor.schema)
            self.subplans[runtime_type.name] = plan
        return plan


class Direct:
    """A strawberry resolver with no arguments, extensions or exception handlers, called
    as strawberry's own wrapper calls it (the source as `self`, `parent` or `root`, its
    Info as `info`), without the wrapper's layers."""

    __slots__ = ("func", "info_class", "info_name", "pass_self", "sources", "strawberry_field")

    def __init__(self, strawberry_field: Any, info_class: Any) -> None:
        resolver = strawberry_field.base_resolver
        self.func = resolver.wrapped_func
        self.pass_self = resolver.self_parameter is not None
        self.sources = [
            p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None
        ]
        self.info_name = resolver.info_parameter.name if resolver.info_parameter else None
        self.info_class = info_class
        self.strawberry_field = strawberry_field

    def __call__(self, run: Run, field: CompiledField, source: Any, path: Path) -> Any:
        kwargs: dict[str, Any] = {name: source for name in self.sources}
        if self.info_name is not None:
            raw = run.info(field, path)
            kwargs[self.info_name] = self.info_class(_raw_info=raw, _field=self.strawberry_field)
        if self.pass_self:
            return self.func(source, **kwargs)
        return self.func(**kwargs)


def _direct(definition: GraphQLField, strawberry_field: Any, schema: Any) -> Direct | None:
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if (
        strawberry_schema is None
        or strawberry_field.base_resolver is None
        or strawberry_field.extensions
        or definition.args
        or getattr(definition.resolve, "__name__", "") not in ("_resolver", "_async_resolver")
        or strawberry_schema.schema_converter._exception_handler_specs
    ):
        return None
    return Direct(strawberry_field, strawberry_schema.config.info_class)


class Plan:
    """The fields of one selection on one object type, in response order."""

    __slots__ = ("fields", "type", "type_name")

    def __init__(
        self, object_type: GraphQLObjectType, grouped: Mapping[str, Any], schema: Any
    ) -> None:
        self.type = object_type
        self.type_name = object_type.name
        fields = []
        for key, details in grouped.items():
            if any(d.fragment_variable_values is not None for d in details):
                raise Fallback("fragment arguments")
            definition = schema.get_field(object_type, details[0].node.name.value)
            if definition is None:
                raise Fallback("unknown field")
            fields.append(CompiledField(key, definition, details, object_type, schema))
        self.fields = fields

    def execute(self, run: Run, source: Any, path: Path | None) -> Any:
        """The object's data, or an awaitable of it when a resolver is asynchronous."""
        data: dict[str, Any] = {}
        pending: list[tuple[str, Any]] = []
        try:
            for field in self.fields:
                key = field.key
                if field.typename:
                    data[key] = self.type_name
                    continue
                if field.attribute is not None:
                    value = field.getter(source, field.attribute)  # type: ignore[misc]
                    field_path = None if field.leaf else Path(path, key, self.type_name)
                elif field.call is not None:
                    field_path = Path(path, key, self.type_name)
                    value = field.call(run, field, source, field_path)
                else:
                    field_path = Path(path, key, self.type_name)
                    info = run.info(field, field_path)
                    args = run.args(field) if field.has_args else {}
                    value = field.resolve(source, info, **args)  # type: ignore[misc]
                if inspect.isawaitable(value):
                    data[key] = None
                    pending.append((key, _then(run, field, value, field_path)))
                    continue
                completed = field.complete(run, value, field_path)
                if inspect.isawaitable(completed):
                    pending.append((key, completed))
                data[key] = completed
        except BaseException:
            _discard(awaitable for _, awaitable in pending)
            raise
        if not pending:
            return data
        return _fill(data, pending)


async def _then(run: Run, field: CompiledField, value: Awaitable[Any], path: Path | None) -> Any:
    completed = field.complete(run, await value, path)
    if inspect.isawaitable(completed):
        return await completed
    return completed


async def _fill(into: Any, pending: list[tuple[Any, Any]]) -> Any:
    """Await every pending value together (their loads batch), then put each in its place
    (a key of an object's data, an index of a list)."""
    results = await asyncio.gather(*(awaitable for _, awaitable in pending), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise Fallback("a resolver failed") from result
    for (place, _), result in zip(pending, results, strict=True):
        into[place] = result
    return into


def _discard(awaitables: Iterable[Any]) -> None:
    """Close coroutines that will never run (no "never awaited" warning), cancel futures."""
    for awaitable in awaitables:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        elif isinstance(awaitable, asyncio.Future):
            awaitable.cancel()


def _is_leaf(type_: GraphQLOutputType) -> bool:
    while is_non_null_type(type_):
        type_ = type_.of_type
    return is_leaf_type(type_)


def _completer(type_: GraphQLOutputType, field: CompiledField, schema: Any) -> Complete:
    """How a resolved value of this type completes, as graphql-core's complete_value does
    when it succeeds; where graphql-core would raise, this raises Fallback."""
    if is_non_null_type(type_):
        inner = _completer(type_.of_type, field, schema)

        def non_null(run: Run, value: Any, path: Path | None) -> Any:
            if value is None or value is Undefined:
                raise Fallback("null in a non-null position")
            return inner(run, value, path)

        return non_null
    if is_list_type(type_):
        item = _completer(type_.of_type, field, schema)
        return _nullable(_list_completer(item))
    if is_leaf_type(type_):
        coerce = type_.coerce_output_value

        def leaf(run: Run, value: Any, path: Path | None) -> Any:
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise Fallback("a leaf coerced to null")
            return coerced

        return _nullable(leaf)
    if is_object_type(type_):
        object_type: GraphQLObjectType = type_

        def an_object(run: Run, value: Any, path: Path | None) -> Any:
            return _object(run, field, object_type, value, path)

        return _nullable(an_object)
    if is_abstract_type(type_):
        abstract: GraphQLAbstractType = type_

        def abstract_value(run: Run, value: Any, path: Path | None) -> Any:
            assert path is not None
            executor = run.executor
            resolve_type = abstract.resolve_type or executor.type_resolver
            name = resolve_type(value, run.info(field, path), abstract)
            if not isinstance(name, str):
                _discard([name])
                raise Fallback("a runtime type that is not a name")
            runtime = schema.get_type(name)
            if not is_object_type(runtime) or not schema.is_sub_type(abstract, runtime):
                raise Fallback("a runtime type that does not fit")
            return _object(run, field, runtime, value, path)

        return _nullable(abstract_value)
    raise Fallback(f"an output type the plan does not know: {type_}")


def _nullable(complete: Complete) -> Complete:
    """A nullable position: null stays null; an error returned as a value is graphql-core's
    to report."""

    def nullable(run: Run, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            return None
        if isinstance(value, Exception):
            raise Fallback("an error as a value")
        return complete(run, value, path)

    return nullable


def _list_completer(item: Complete) -> Complete:
    def a_list(run: Run, value: Any, path: Path | None) -> Any:
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise Fallback("not a list")
        out: list[Any] = []
        pending: list[tuple[int, Any]] = []
        try:
            for index, element in enumerate(value):
                if inspect.isawaitable(element):
                    _discard([element])
                    raise Fallback("an awaitable list item")
                completed = item(run, element, None if path is None else Path(path, index, None))
                if inspect.isawaitable(completed):
                    pending.append((index, completed))
                out.append(completed)
        except BaseException:
            _discard(awaitable for _, awaitable in pending)
            raise
        if not pending:
            return out
        return _fill(out, pending)

    return a_list


def _object(
    run: Run, field: CompiledField, object_type: GraphQLObjectType, value: Any, path: Path | None
) -> Any:
    if object_type.is_type_of is not None:
        assert path is not None
        fits = object_type.is_type_of(value, run.info(field, path))
        if fits is not True:
            _discard([fits])
            raise Fallback("is_type_of refused the value")
    return field.subplan(run, object_type).execute(run, value, path)


# --------------------------------------------------------------------------- plans


class Plans:
    """Root plans by (schema, operation), for the documents the parser cache keeps; a
    document that cannot be compiled is remembered as None."""

    def __init__(self, size: int = MAX_PLANS) -> None:
        self._size = size
        self._plans: OrderedDict[tuple[int, int], tuple[Any, Any, Plan | None]] = OrderedDict()

    def root(self, executor: Any) -> Plan | None:
        operation: OperationDefinitionNode = executor.operation
        key = (id(executor.schema), id(operation))
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found[2]
        plan = _compile(executor)
        # Keep the schema and the operation alive with their plan: their ids stay theirs.
        self._plans[key] = (executor.schema, operation, plan)
        if len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan


def _compile(executor: Any) -> Plan | None:
    operation: OperationDefinitionNode = executor.operation
    middleware = executor.middleware_manager
    if operation.operation is not OperationType.QUERY or (middleware and middleware.middlewares):
        return None  # a resolver middleware would wrap every field
    used = [operation, *executor.fragment_definitions.values()]
    if any(_has_directives(node) for node in used):
        return None
    root_type = executor.schema.query_type
    try:
        grouped, _, _ = collect_fields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            root_type,
            operation,
            executor.hide_suggestions,
        )
        if any(key in grouped for key in ("__schema", "__type")) or any(
            d.node.name.value in ("__schema", "__type") for ds in grouped.values() for d in ds
        ):
            return None
        return Plan(root_type, grouped, executor.schema)
    except (Fallback, RecursionError):
        return None


def _has_directives(node: Any) -> bool:
    if getattr(node, "directives", None):
        return True
    selection_set: SelectionSetNode | None = getattr(node, "selection_set", None)
    if selection_set is None:
        return False
    return any(_has_directives(selection) for selection in selection_set.selections)


PLANS = Plans()


async def run(executor: Any, plan: Plan) -> dict[str, Any]:
    """The operation's data by the plan; raises (Fallback or the resolver's error) when
    graphql-core's answer would have an error."""
    data = plan.execute(Run(executor), executor.root_value, None)
    if inspect.isawaitable(data):
        data = await data
    return data
