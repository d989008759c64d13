from pathlib import Path

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
        "homeTimeline(first: Int! = 20, after: String = null): Timeline!",
        "databaseId: String!",
    ):
        assert line in sdl, line
