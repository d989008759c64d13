"""Query cost in the spirit of GitHub's: every field resolved counts once per parent, and a
connection multiplies what it selects by the page size it asks for (`first`, else 20)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

CONNECTION_FIELDS = frozenset(
    {
        "homeTimeline",
        "tweets",
        "likes",
        "followers",
        "following",
        "replies",
        "search",
        "followRequests",
    }
)
DEFAULT_PAGE = 20


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
    return _cost(chosen[0].selection_set, 1, fragments, variables or {}, frozenset())


def _cost(
    selections: SelectionSetNode,
    multiplier: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    visiting: frozenset[str],
) -> int:
    total = 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            total += multiplier
            if node.selection_set is not None:
                inner = multiplier * _page_size(node, variables)
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


def _page_size(field: FieldNode, variables: Mapping[str, Any]) -> int:
    if field.name.value not in CONNECTION_FIELDS:
        return 1
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, int(value.value))
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
            return max(1, int(raw)) if isinstance(raw, int) else DEFAULT_PAGE
    return DEFAULT_PAGE
