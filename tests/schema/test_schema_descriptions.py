"""The schema documents itself: every type, field, argument, input field and enum value of
`schema.graphql` has a description, and every deprecation says why. GraphiQL's docs explorer
shows what introspection returns, so the same holds for the schema the running app answers
with."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from graphql import (
    DEFAULT_DEPRECATION_REASON,
    GraphQLArgument,
    GraphQLDirective,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    IntrospectionQuery,
    build_client_schema,
    build_schema,
    get_introspection_query,
    specified_directives,
)
from graphql.type import introspection_types, specified_scalar_types

from schema.schema import printed_schema
from tests.support.client import GraphQLClient

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
Element = (
    GraphQLNamedType
    | GraphQLField
    | GraphQLArgument
    | GraphQLInputField
    | GraphQLEnumValue
    | GraphQLDirective
)


def _elements(schema: GraphQLSchema) -> dict[str, Element]:
    """Every element a client can read about, by its coordinate (`Type.field(arg:)`): all but
    the built-in scalars, the introspection types and the built-in directives."""
    found: dict[str, Element] = {}
    for name, named in schema.type_map.items():
        if name in specified_scalar_types or name in introspection_types:
            continue
        found[name] = named
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                found[f"{name}.{field_name}"] = field
                for arg_name, arg in field.args.items():
                    found[f"{name}.{field_name}({arg_name}:)"] = arg
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                found[f"{name}.{field_name}"] = input_field
        elif isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                found[f"{name}.{value_name}"] = value
    built_in = {directive.name for directive in specified_directives}
    for directive in schema.directives:
        if directive.name not in built_in:
            found[f"@{directive.name}"] = directive
            for arg_name, arg in directive.args.items():
                found[f"@{directive.name}({arg_name}:)"] = arg
    return found


def undocumented(schema: GraphQLSchema) -> list[str]:
    return [
        coordinate
        for coordinate, element in _elements(schema).items()
        if not (element.description or "").strip()
    ]


def badly_deprecated(schema: GraphQLSchema) -> list[str]:
    """Deprecations that do not tell a client what to use instead: no reason, or the generic
    one `@deprecated` gets without an argument."""
    return [
        coordinate
        for coordinate, element in _elements(schema).items()
        if (reason := getattr(element, "deprecation_reason", None)) is not None
        and reason.strip() in ("", DEFAULT_DEPRECATION_REASON)
    ]


def _checked_in() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text())


def test_every_element_of_the_schema_is_described() -> None:
    missing = undocumented(_checked_in())
    assert not missing, "no description (add description= in schema/ or resolvers/):\n" + (
        "\n".join(missing)
    )


def test_the_code_describes_what_the_checked_in_schema_does() -> None:
    assert undocumented(build_schema(printed_schema())) == []


def test_every_deprecation_gives_a_reason() -> None:
    bad = badly_deprecated(_checked_in())
    assert not bad, "deprecated without a reason (use deprecation_reason=...):\n" + "\n".join(bad)


def test_the_checks_name_what_they_find() -> None:
    """The two checks above pass on this schema; here they must catch each kind of miss."""
    sdl = '''
        """A thing."""
        type Query {
          """Described."""
          described(
            """Described."""
            first: Int
          ): Int
          bare(after: String): Int
          """Old."""
          old: Int @deprecated
          """Older."""
          older: Int @deprecated(reason: "")
          """Gone, with a reason."""
          gone: Int @deprecated(reason: "Use `described`.")
        }
        enum Kind { ONE }
        """Input."""
        input Filter { kind: Kind }
        scalar Moment
        union Either = Query
    '''
    schema = build_schema(sdl)
    assert undocumented(schema) == [
        "Query.bare",
        "Query.bare(after:)",
        "Kind",
        "Kind.ONE",
        "Filter.kind",
        "Moment",
        "Either",
    ]
    assert badly_deprecated(schema) == ["Query.old", "Query.older"]


def test_graphiql_gets_the_descriptions_from_the_running_app(client: GraphQLClient) -> None:
    """GraphiQL's docs explorer is built from an introspection query like this one."""
    query = get_introspection_query(descriptions=True, input_value_deprecation=True)
    served = build_client_schema(cast(IntrospectionQuery, client.data(query)))

    assert undocumented(served) == []
    assert served.query_type is not None
    home = served.query_type.fields["homeTimeline"]
    assert home.description is not None and "accounts they follow" in home.description
    first = home.args["first"].description
    assert first is not None and "1 to 100" in first
    order = served.get_type("ConversationOrder")
    assert isinstance(order, GraphQLEnumType)
    assert order.values["RANKED"].description is not None
    post = served.get_type("PostTweetInput")
    assert isinstance(post, GraphQLInputObjectType)
    text = post.fields["text"].description
    assert text is not None and "280 characters" in text
