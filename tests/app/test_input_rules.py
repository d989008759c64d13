"""Rules for what comes in, each checked for its whole class (derived from the schema where it
can be): the cost of list sizes given by variables, ids, and text fields."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
    get_named_type,
    value_from_ast_untyped,
)

from app.cost import LIST_SIZES
from app.ids import MAX_ID, parse_id
from app.settings import Limits
from schema.schema import printed_schema
from tests.support.client import GraphQLClient, embedded_settings, running_app

SCHEMA = build_schema(printed_schema())
ROOTS = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[GraphQLClient]:
    """The app, with room for the many mutations a test of a whole class makes."""
    limits = Limits(mutations_per_minute=1_000_000)
    with running_app(embedded_settings(tmp_path, limits=limits)) as graphql:
        yield graphql


# --- Cost: a list size given by a variable costs what execution will use -------------------


@pytest.fixture
def costly(tmp_path: Path) -> Iterator[GraphQLClient]:
    """Every operation is over this limit, so each answer says what it would cost."""
    with running_app(embedded_settings(tmp_path, limits=Limits(max_cost=1))) as client:
        yield client


def _cost(client: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> int:
    body = client.post(query, variables)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    return int(body["errors"][0]["extensions"]["cost"])


def test_a_variables_value_or_default_costs_as_much_as_the_literal(
    costly: GraphQLClient,
) -> None:
    def timeline(first: str, variables: str = "") -> str:
        return (
            f"query{variables} {{ homeTimeline(first: {first}) {{ edges {{ node {{ id }} }} }} }}"
        )

    literal = _cost(costly, timeline("100"))
    assert literal == 1 + 100 * 3
    assert _cost(costly, timeline("$f", "($f: Int! = 100)")) == literal  # not sent: default
    assert _cost(costly, timeline("$f", "($f: Int! = 5)"), {"f": 100}) == literal  # sent
    assert _cost(costly, timeline("$f", "($f: Int!)"), {"f": 100.0}) == literal  # Int reads 100
    # Neither sent nor declared with a default: the argument's own default (20).
    assert _cost(costly, timeline("$f", "($f: Int)")) == _cost(costly, timeline("20"))
    trending = "query($n: Int! = 50) { trending(limit: $n) { hashtag } }"
    assert _cost(costly, trending) == _cost(costly, "{ trending(limit: 50) { hashtag } }") == 51


def test_the_nested_replies_example_is_refused_with_a_default_as_with_literals(
    client: GraphQLClient,
) -> None:
    token = client.sign_up("alice")["accessToken"]
    shape = (
        "{ homeTimeline(first: %s) { edges { node {"
        " replies(first: %s) { edges { node { id } } } } } } }"
    )
    literal = client.post(shape % ("100", "100"), token=token)
    variable = client.post("query($f: Int! = 100)" + shape % ("$f", "$f"), token=token)
    sent = client.post("query($f: Int!)" + shape % ("$f", "$f"), {"f": 100}, token=token)
    for body in (literal, variable, sent):
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["cost"] == 1 + 100 * (3 + 100 * 3)


def test_a_size_variable_of_another_shape_is_refused_not_crashed(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    query = "query($f: Int!) { homeTimeline(first: $f) { edges { cursor } } }"
    for value in ([100], {"first": 100}, "100", None, 1e12, True):
        body = client.post(query, {"f": value}, token=token)
        assert body.get("data") is None, value
        assert body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR", value
    # A list or an input object literal around a variable is invalid GraphQL for `first`.
    body = client.post(
        "query($f: Int!) { homeTimeline(first: [$f]) { edges { cursor } } }", {"f": 1}, token
    )
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"


def test_every_sized_list_field_of_the_schema_is_costed_with_its_default() -> None:
    found: dict[str, tuple[str, int]] = {}
    for named in SCHEMA.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for name, field in named.fields.items():
            for argument in ("first", "limit"):
                if argument in field.args:
                    spec = field.args[argument].ast_node
                    assert spec is not None and spec.default_value is not None, name
                    found[name] = (argument, value_from_ast_untyped(spec.default_value))
    assert found == dict(LIST_SIZES)


# --- Ids: one rule, ASCII digits 1..2**63-1, for bare, global and cursor ids ---------------

MALFORMED_IDS = [
    "",
    "²",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() and int() accept them
    "0",
    "-1",
    "+1",
    " 12",
    "12\n",
    "1_2",
    "1.0",
    "0x1F",
    str(MAX_ID + 1),
    "9" * 20,
    "1" * 40,
]


def test_the_id_rule() -> None:
    assert parse_id("1") == 1
    assert parse_id(str(MAX_ID)) == MAX_ID == 2**63 - 1
    assert parse_id("007") == 7
    for text in MALFORMED_IDS:
        assert parse_id(text) is None, text
    assert parse_id(12) is None  # only text comes from outside


# Required arguments besides the id, for fields that have some.
OTHER_ARGUMENTS = {
    "reportTweet": "reason: SPAM",
    "reportUser": "reason: SPAM",
    "resolveReports": 'action: DISMISS, note: "checking ids"',
}


def _id_uses() -> list[tuple[str, str]]:
    """(operation, its type name) for every ID argument and ID input field of the schema,
    with the id as $id; media ids are opaque keys, not database ids."""
    uses = []
    for kind, root in ROOTS.items():
        assert root is not None
        for name, field in root.fields.items():
            returns = get_named_type(field.type)
            selection = "" if isinstance(returns, GraphQLScalarType) else "{ __typename }"
            for arg_name, arg in field.args.items():
                if _is_single_id(arg.type):
                    required = [
                        a
                        for a in field.args.values()
                        if isinstance(a.type, GraphQLNonNull)
                        and (a.ast_node is None or a.ast_node.default_value is None)
                    ]
                    others = OTHER_ARGUMENTS.get(name, "")
                    assert len(required) == 1 + others.count(":"), f"{name}: add to OTHER_ARGUMENTS"
                    arguments = ", ".join(filter(None, [f"{arg_name}: $id", others]))
                    uses.append((f"{kind}($id: ID!) {{ {name}({arguments}) {selection} }}", name))
                named = get_named_type(arg.type)
                if isinstance(named, GraphQLInputObjectType):
                    required = [
                        f'{f}: "x"'
                        for f, spec in named.fields.items()
                        if isinstance(spec.type, GraphQLNonNull)
                        and (spec.ast_node is None or spec.ast_node.default_value is None)
                    ]
                    for input_field, spec in named.fields.items():
                        if _is_single_id(spec.type):
                            values = ", ".join([*required, f"{input_field}: $id"])
                            operation = f"{name}({arg_name}: {{{values}}}) {selection}"
                            uses.append((f"{kind}($id: ID!) {{ {operation} }}", input_field))
    return uses


def _is_single_id(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return not isinstance(inner, GraphQLList) and get_named_type(type_).name == "ID"


def test_every_id_argument_refuses_malformed_ids(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    uses = _id_uses()
    assert len(uses) >= 13  # tweet, node, 9 mutations, replyToId, quoteOfId
    for operation, where in uses:
        for bad in MALFORMED_IDS:
            for sent in (bad, _b64(f"Tweet:{bad}"), _b64(f"User:{bad}")):
                body = client.post(operation, {"id": sent}, token)
                assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (where, sent)


def test_well_formed_unknown_ids_are_still_not_found(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    largest = str(MAX_ID)
    assert (
        client.data("query($id: ID!) { tweet(id: $id) { id } }", {"id": largest})["tweet"] is None
    )
    node = client.data("query($id: ID!) { node(id: $id) { id } }", {"id": _b64(f"Tweet:{largest}")})
    assert node["node"] is None
    like = "mutation($id: ID!) { likeTweet(id: $id) { id } }"
    assert client.error_code(like, {"id": largest}, token) == "NOT_FOUND"
    follow = "mutation($id: ID!) { follow(userId: $id) { status } }"
    assert client.error_code(follow, {"id": _b64(f"User:{largest}")}, token) == "NOT_FOUND"


def test_every_cursor_refuses_malformed_numbers(client: GraphQLClient) -> None:
    alice = client.sign_up("alice")
    tweet = client.post_tweet(alice["accessToken"], "hello")["id"]
    connections = {  # every `after` argument of the schema, reached from the top
        "homeTimeline": "{ homeTimeline(after: $after) { edges { cursor } } }",
        "search": '{ search(query: "hello", after: $after) { edges { cursor } } }',
        "followRequests": "{ followRequests(after: $after) { edges { cursor } } }",
        "tweets": "{ me { tweets(after: $after) { edges { cursor } } } }",
        "likes": "{ me { likes(after: $after) { edges { cursor } } } }",
        "followers": "{ me { followers(after: $after) { edges { cursor } } } }",
        "following": "{ me { following(after: $after) { edges { cursor } } } }",
        "blocked": "{ me { blocked(after: $after) { edges { cursor } } } }",
        "muted": "{ me { muted(after: $after) { edges { cursor } } } }",
        "moderationQueue": "{ moderationQueue(after: $after) { edges { cursor } } }",
        "moderationLog": "{ moderationLog(after: $after) { edges { cursor } } }",
        "notifications": "{ notifications(after: $after) { edges { cursor } } }",
        "conversation": f'{{ tweet(id: "{tweet}") {{ conversation(after: $after) {{ edges '
        "{ cursor } } } }",
        "hashtag": '{ hashtag(tag: "tea", after: $after) { edges { cursor } } }',
        "mentions": "{ me { mentions(after: $after) { edges { cursor } } } }",
        "searchUsers": '{ searchUsers(query: "ali", after: $after) { edges { cursor } } }',
        "replies": f'{{ tweet(id: "{tweet}") {{ replies(after: $after) {{ edges {{ id: cursor }}'
        " } } }",
        **{
            field: f'{{ tweet(id: "{tweet}") {{ {field}(after: $after) {{ edges {{ cursor }}'
            " } } }"
            for field in ("likedBy", "retweetedBy", "quotes")
        },
        "bookmarks": "{ me { bookmarks(after: $after) { edges { cursor } } } }",
        "deletedTweets": "{ me { deletedTweets(after: $after) { edges { cursor } } } }",
    }
    with_after = {
        name
        for named in SCHEMA.type_map.values()
        if isinstance(named, GraphQLObjectType) and named is not SCHEMA.subscription_type
        for name, field in named.fields.items()
        if "after" in field.args
    }
    assert with_after == set(connections)
    numbers = ["²", "0", str(MAX_ID + 1), "9" * 30, "-1", " 1"]
    cursors = [_cursor(f"t:{n}:1") for n in numbers] + [_cursor(f"t:1:{n}") for n in numbers]
    cursors += [_cursor(f"i:{n}") for n in numbers]
    cursors += [_cursor(f"q:{n}:1:1") for n in numbers] + [_cursor(f"q:1:{n}:1") for n in numbers]
    cursors += [_cursor("q:1:3:1"), _cursor("q:1:1")]  # no such target kind; too short
    cursors += [_cursor(f"n:1:{n}:1") for n in numbers] + [_cursor(f"n:1:1:{n}") for n in numbers]
    cursors += [_cursor(f"c:{n}:1") for n in numbers] + [_cursor(f"c:1:{n}") for n in numbers]
    cursors += [_cursor(f"p:{n}:1:1") for n in numbers] + [_cursor(f"p:1:1:{n}") for n in numbers]
    cursors += [_cursor("p:3:1:1"), _cursor("p:1:1")]  # no such rank; too short
    for name, selection in connections.items():
        for cursor in cursors:
            body = client.post(
                f"query($after: String) {selection}", {"after": cursor}, alice["accessToken"]
            )
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (name, cursor)


# --- Text: no control characters anywhere; bounded, well-formed settings and URLs -----------

SIGN_UP = "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }"
POST = "mutation($i: PostTweetInput!) { postTweet(input: $i) { text source language } }"
PROFILE = """mutation($i: UpdateProfileInput!) { updateProfile(input: $i) {
    displayName bio location website profileImageUrl bannerImageUrl } }"""
SETTINGS = """mutation($i: UpdateSettingsInput!) { updateSettings(input: $i) {
    language timezone privateAccount allowDmsFrom notificationPreferences { like }
    privacySettings } }"""
READ_SETTINGS = "{ settings { language notificationPreferences { like } privacySettings } }"


def _sign_up_with(**fields: str) -> tuple[str, dict[str, Any]]:
    values = {"username": "bob", "email": "bob@example.com", "password": "longenough", **fields}
    return SIGN_UP, {"i": values}


# Where text comes in -> (a request carrying `value` there, a valid value to spoil).
TEXT_FIELDS: dict[str, tuple[Callable[[str], tuple[str, dict[str, Any]]], str]] = {
    "SignUpInput.username": (lambda v: _sign_up_with(username=v), "bobby"),
    "SignUpInput.email": (lambda v: _sign_up_with(email=v), "bob@example.com"),
    "SignUpInput.displayName": (lambda v: _sign_up_with(displayName=v), "Bob B"),
    "Mutation.logIn.login": (
        lambda v: (
            'mutation($l: String!) { logIn(login: $l, password: "longenough") { accessToken } }',
            {"l": v},
        ),
        "alice",
    ),
    "PostTweetInput.text": (lambda v: (POST, {"i": {"text": v}}), "hello"),
    "PostTweetInput.idempotencyKey": (
        lambda v: (POST, {"i": {"text": "hi", "idempotencyKey": v}}),
        "key-1",
    ),
    "PostTweetInput.source": (lambda v: (POST, {"i": {"text": "hi", "source": v}}), "web"),
    "PostTweetInput.language": (lambda v: (POST, {"i": {"text": "hi", "language": v}}), "en"),
    **{
        f"UpdateProfileInput.{field}": (
            lambda v, field=field: (PROFILE, {"i": {field: v}}),
            base,
        )
        for field, base in {
            "displayName": "Alice",
            "bio": "hello",
            "location": "Paris",
            "website": "https://example.com/",
            "profileImageUrl": "https://example.com/a.png",
            "bannerImageUrl": "https://example.com/b.png",
        }.items()
    },
    **{
        f"UpdateSettingsInput.{field}": (
            lambda v, field=field: (SETTINGS, {"i": {field: v}}),
            base,
        )
        for field, base in {
            "language": "fr",
            "timezone": "Europe/Paris",
            "allowDmsFrom": "everyone",
        }.items()
    },
    "UpdateSettingsInput.privacySettings": (
        lambda v: (SETTINGS, {"i": {"privacySettings": {"list": [{"note": v}]}}}),
        "none",
    ),
    "Query.searchUsers.query": (
        lambda v: (
            "query($q: String!) { searchUsers(query: $q) { edges { cursor } } }",
            {"q": v},
        ),
        "alice",
    ),
    "Query.search.query": (
        lambda v: (
            "query($q: String!) { search(query: $q) { edges { cursor } } }",
            {"q": v},
        ),
        "hello",
    ),
    **{
        f"Mutation.{operation}.word": (
            lambda v, operation=operation: (
                f"mutation($w: String!) {{ {operation}(word: $w) {{ word }} }}",
                {"w": v},
            ),
            "coffee",
        )
        for operation in ("addMutedWord", "removeMutedWord")
    },
    **{
        f"Mutation.{operation}.comment": (
            lambda v, operation=operation, argument=argument: (
                f'mutation($c: String!) {{ {operation}({argument}: "1", reason: SPAM,'
                " comment: $c) }",
                {"c": v},
            ),
            "it is spam",
        )
        for operation, argument in (("reportTweet", "id"), ("reportUser", "userId"))
    },
    "Mutation.resolveReports.note": (
        lambda v: (
            'mutation($n: String!) { resolveReports(targetId: "VHdlZXQ6MQ", action: DISMISS,'
            " note: $n) { id } }",
            {"n": v},
        ),
        "a note",
    ),
    "Mutation.createMediaUpload.contentType": (
        lambda v: (
            "mutation($t: String!) { createMediaUpload(contentType: $t, size: 10) { mediaId } }",
            {"t": v},
        ),
        "image/png",
    ),
}
MULTILINE = {
    "Mutation.reportTweet.comment",
    "Mutation.reportUser.comment",
    "Mutation.resolveReports.note",
    "PostTweetInput.text",
    "UpdateProfileInput.bio",
    "UpdateSettingsInput.privacySettings",
    "Query.search.query",
}
NOT_TEXT = {  # strings that are never stored or shown, or have rules of their own
    "SignUpInput.password": "a secret: hashed, never shown, any character allowed",
    "Mutation.logIn.password": "a secret",
    "Mutation.deleteAccount.password": "a secret, only checked against the hash",
    "Mutation.refreshToken.refreshToken": "an opaque token, only hashed",
    "Mutation.logOut.refreshToken": "an opaque token, only hashed",
    "Query.user.username": "a lookup: anything that is not a username finds nobody",
    "Mutation.markNotificationsRead.upTo": "a cursor (tests/resolvers/test_notifications.py)",
    "Query.hashtag.tag": "word characters only (tests/resolvers/test_mentions_and_hashtags.py)",
}


def test_every_text_input_of_the_schema_is_checked() -> None:
    found = set()
    for named in SCHEMA.type_map.values():
        if isinstance(named, GraphQLInputObjectType):
            found |= {
                f"{named.name}.{name}"
                for name, field in named.fields.items()
                if get_named_type(field.type).name in ("String", "JSON")
            }
    for root in (SCHEMA.query_type, SCHEMA.mutation_type):
        assert root is not None
        found |= {
            f"{root.name}.{field_name}.{name}"
            for field_name, field in root.fields.items()
            for name, arg in field.args.items()
            if get_named_type(arg.type).name in ("String", "JSON") and name != "after"
        }  # `after` is a cursor: test_every_cursor_refuses_malformed_numbers
    assert found == set(TEXT_FIELDS) | set(NOT_TEXT)


def test_control_characters_are_refused_in_every_text_field(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    for where, (request, base) in TEXT_FIELDS.items():
        controls = ["\x00", "\x01", "\x0b", "\x1b", "\x7f"]
        if where not in MULTILINE:
            controls += ["\n", "\t", "\r"]
        for control in controls:
            spoiled = base[:2] + control + base[2:]
            query, variables = request(spoiled)
            assert client.error_code(query, variables, token) == "BAD_USER_INPUT", (where, control)


def test_multiline_text_keeps_newlines_and_tabs(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    tweet = client.data(POST, {"i": {"text": "line one\r\nline\ttwo\rthree"}}, token)
    assert tweet["postTweet"]["text"] == "line one\nline\ttwo\nthree"
    bio = client.data(PROFILE, {"i": {"bio": "a\nb"}}, token)["updateProfile"]["bio"]
    assert bio == "a\nb"


def test_source_and_language_of_a_tweet_are_bounded(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    ok = client.data(
        POST, {"i": {"text": "hi", "source": "s" * 64, "language": "zh-Hant-TW"}}, token
    )
    assert ok["postTweet"]["source"] == "s" * 64
    assert (
        client.error_code(POST, {"i": {"text": "hi", "source": "s" * 65}}, token)
        == "BAD_USER_INPUT"
    )
    for language in ("en", "pt-BR", "sl-rozaj-biske"):
        assert client.data(POST, {"i": {"text": "hi", "language": language}}, token)
    for language in ("", "e", "en_US", "en-", "-en", "12", "x" * 17, "en-" + "a" * 9, "en US"):
        code = client.error_code(POST, {"i": {"text": "hi", "language": language}}, token)
        assert code == "BAD_USER_INPUT", language


@pytest.mark.parametrize("field", ["website", "profileImageUrl", "bannerImageUrl"])
def test_profile_urls_are_http_or_https_only(client: GraphQLClient, field: str) -> None:
    token = client.sign_up("alice")["accessToken"]
    for url in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:x",
        "file:///etc/passwd",
        "ftp://example.com/",
        "//example.com/",
        "example.com",
        "http://",
        "https:///path",
        "https://exa mple.com/",
        "http://[::1/",
        "https://example.com:99999/",
    ):
        code = client.error_code(PROFILE, {"i": {field: url}}, token)
        assert code == "BAD_USER_INPUT", url
    for url in ("https://example.com/a?b=c#d", "HTTP://Example.com", "http://127.0.0.1:8080/x"):
        assert client.data(PROFILE, {"i": {field: url}}, token)["updateProfile"][field] == url
    assert client.data(PROFILE, {"i": {field: ""}}, token)["updateProfile"][field] is None


def test_null_is_refused_for_every_setting(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    settings_input = SCHEMA.type_map["UpdateSettingsInput"]
    assert isinstance(settings_input, GraphQLInputObjectType)
    for field in settings_input.fields:
        body = client.post(SETTINGS, {"i": {field: None}}, token)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", field
    settings = client.data(READ_SETTINGS, token=token)["settings"]
    assert settings == {
        "language": "en", "notificationPreferences": {"like": True}, "privacySettings": {}
    }  # fmt: skip


def test_json_settings_are_bounded_objects(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]

    def code(value: Any) -> str:
        return client.error_code(SETTINGS, {"i": {"privacySettings": value}}, token)

    for not_an_object in (5, "email", [1, 2], True):
        assert code(not_an_object) == "BAD_USER_INPUT", not_an_object
    assert code({"k": "x" * 4_100}) == "BAD_USER_INPUT"  # 100 KB was accepted before
    assert code({"k": "é" * 2_100}) == "BAD_USER_INPUT"  # bytes of UTF-8, not characters
    deep: Any = {}
    for _ in range(8):
        deep = {"d": deep}
    assert code(deep) == "BAD_USER_INPUT"
    fits = {"k": "x" * 4_000, "nested": deep["d"]["d"]}  # 8 levels in all
    stored = client.data(SETTINGS, {"i": {"privacySettings": fits}}, token)
    assert stored["updateSettings"]["privacySettings"] == fits
    body = client.http.post(  # NaN is not JSON, though Python's parser reads it
        "/graphql",
        content=json.dumps(
            {"query": SETTINGS, "variables": {"i": {"privacySettings": {"x": float("nan")}}}}
        ),
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    ).json()
    assert body["errors"][0]["extensions"]["code"] in ("BAD_USER_INPUT", "BAD_REQUEST")
    assert client.data(READ_SETTINGS, token=token)["settings"]["privacySettings"] == fits
