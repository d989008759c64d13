"""Query cost in the spirit of GitHub's: every field resolved counts once per parent, and a
list field multiplies what it selects by the size it asks for (`first` of a connection,
`limit` of trending).

A size is read as execution will read it: from the literal, else from the variable's value
if it was sent, else from the variable's declared default, else from the argument's own
default. A value that GraphQL's Int refuses fails the operation before anything runs, so it
costs the argument's default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInt,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)

DEFAULT_PAGE = 20
# field -> (its size argument, that argument's default); tests/app/test_input_rules.py checks
# this against the schema, so a new list field cannot be left out.
LIST_SIZES: Mapping[str, tuple[str, int]] = {
    **{
        field: ("first", DEFAULT_PAGE)
        for field in (
            "homeTimeline",
            "tweets",
            "likes",
            "likedBy",
            "retweetedBy",
            "quotes",
            "bookmarks",
            "deletedTweets",
            "followers",
            "following",
            "replies",
            "search",
            "searchUsers",
            "followRequests",
            "blocked",
            "muted",
            "moderationQueue",
            "moderationLog",
            "notifications",
            "conversation",
            "hashtag",
            "mentions",
        )
    },
    "trending": ("limit", 10),
}


def operation_cost(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name and op.name.value == operation_name)
    ]
    if not chosen:
        return 0
    values = _variable_values(chosen[0], variables or {})
    return _cost(chosen[0].selection_set, 1, fragments, values, frozenset())


def _variable_values(operation: OperationDefinitionNode, sent: Mapping[str, Any]) -> dict[str, Any]:
    """Each variable as execution sees it: the value sent, else the declared default. A
    variable with neither is left out, and the argument's default applies."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in sent:
            values[name] = sent[name]
        elif definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    return values


def _cost(
    selections: SelectionSetNode,
    multiplier: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    visiting: frozenset[str],
) -> int:
    total = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            total += multiplier
            if node.selection_set is not None:
                inner = multiplier * _list_size(node, variables)
                total += _cost(node.selection_set, inner, fragments, variables, visiting)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, multiplier, fragments, variables, visiting)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name in fragments and name not in visiting:  # cycles are a validation error
                fragment = fragments[name]
                total += _cost(
                    fragment.selection_set, multiplier, fragments, variables, visiting | {name}
                )
    return total


def _list_size(field: FieldNode, variables: dict[str, Any]) -> int:
    size = LIST_SIZES.get(field.name.value)
    if size is None:
        return 1
    name, default = size
    for argument in field.arguments or ():
        if argument.name.value != name:
            continue
        if isinstance(argument.value, VariableNode) and argument.value.name.value not in variables:
            return default
        # Resolves variables anywhere inside the value, as lists and input objects hold them.
        value = value_from_ast_untyped(argument.value, variables)
        try:
            return max(1, GraphQLInt.parse_value(value))
        except (GraphQLError, TypeError, ValueError):
            return default
    return default
