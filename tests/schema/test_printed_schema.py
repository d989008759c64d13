from pathlib import Path

from graphql import build_schema, print_ast

from schema.schema import printed_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_checked_in_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == printed_schema(), (
        "run `make schema` and commit schema.graphql"
    )


def test_contract_core_is_present() -> None:
    sdl = printed_schema()
    for line in (
        "interface Node",
        "type User implements Node",
        "type Tweet implements Node",
        "databaseId: String!",
    ):
        assert line in sdl, line
    # homeTimeline(first: Int! = 20, after: String = null): Timeline!, printed over several
    # lines now that its arguments are described.
    query = build_schema(sdl).query_type
    assert query is not None
    home = query.fields["homeTimeline"]
    assert str(home.type) == "Timeline!"
    arguments = {}
    for name, arg in home.args.items():
        assert arg.ast_node is not None and arg.ast_node.default_value is not None, name
        arguments[name] = f"{arg.type} = {print_ast(arg.ast_node.default_value)}"
    assert arguments == {"first": "Int! = 20", "after": "String = null"}
