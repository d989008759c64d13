"""Malformed and hostile requests get a clear error with a stable code: HTTP 4xx with a JSON
`{"errors": [...]}` body, a GraphQL error, or a websocket close code; never a 500, an
INTERNAL_SERVER_ERROR or a logged traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.graphql_app import INVALID_TOKEN
from tests.support.client import embedded_settings, running_app

DEEP = "[" * 100_000 + "]" * 100_000
JSON = {"content-type": "application/json"}


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    with running_app(embedded_settings(tmp_path, run_workers=False)) as client:
        yield client.http


@pytest.fixture
def production(tmp_path: Path) -> Iterator[TestClient]:
    settings = embedded_settings(tmp_path / "production", run_workers=False, env="production")
    with running_app(settings) as client:
        yield client.http


def _refusal(response: Any, status: int = 400) -> dict[str, Any]:
    """The one error of a request refused before any operation ran."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["message"] and "Traceback" not in error["message"]
    return dict(error)


def _codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [error["extensions"]["code"] for error in response.json()["errors"]]


# --- HTTP bodies ----------------------------------------------------------------------------


BODIES = {
    "number": (b"42", "must be a JSON object"),
    "string": (b'"x"', "must be a JSON object"),
    "null": (b"null", "must be a JSON object"),
    "true": (b"true", "must be a JSON object"),
    "array": (b"[1]", "Batching is not enabled"),
    "not-json": (b"{not json", "not valid JSON"),
    "deep": (DEEP.encode(), "nested too deeply"),
    "deep-variables": (
        b'{"query": "{ me { id } }", "variables": ' + DEEP.encode() + b"}",
        "nested",
    ),
    "latin-1": (b'{"query": "{ me { id } }\xff\xfe"}', "not UTF-8"),
    "utf-16": ('{"query": "{ me { id } }"}'.encode("utf-16"), "not UTF-8"),
    "lone-surrogate": (b'{"query": "{ me { id } }", "variables": {"u": "\\ud800"}}', "not Unicode"),
}


@pytest.mark.parametrize(("body", "says"), BODIES.values(), ids=BODIES.keys())
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    http: TestClient, body: bytes, says: str
) -> None:
    error = _refusal(http.post("/graphql", content=body, headers=JSON))
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert says in error["message"]


def test_an_escaped_surrogate_pair_is_text(http: TestClient) -> None:
    query = "query($u: String!) { user(username: $u) { id } }"
    body = json.dumps({"query": query, "variables": {"u": "\U0001f600"}})  # "\ud83d\ude00"
    assert "\\ud83d\\ude00" in body
    response = http.post("/graphql", content=body.encode(), headers=JSON)
    assert response.status_code == 200 and response.json()["data"] == {"user": None}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer a.é".encode(), b"Bearer \xff.\xfe", "Bearer é".encode(), b"Bearer not.ours"],
    ids=["utf-8", "latin-1", "no-dot", "ascii"],
)
def test_a_token_that_is_not_ascii_is_just_an_invalid_token(
    http: TestClient, authorization: bytes
) -> None:
    # As for any invalid token: the request runs anonymously and what needs a viewer says why.
    response = http.post(
        "/graphql",
        json={"query": "{ me { id } settings { language } }"},
        headers={"authorization": authorization},
    )
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == INVALID_TOKEN


# --- variables --------------------------------------------------------------------------------

TRENDING = "query($n: Int!) { trending(limit: $n) { hashtag } }"
SIGN_UP = "mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }"
USER = "query($u: String!) { user(username: $u) { id } }"
TWEET = "query($id: ID!) { tweet(id: $id) { id } }"
SIGN_UP_INPUT = {"username": "ann", "email": "ann@example.com", "password": "long enough"}


UNFIT = {
    "string-for-int": (TRENDING, '{"n": "ten"}', "Int cannot represent non-integer value"),
    "missing": (TRENDING, "{}", "of non-null type 'Int!' to be provided"),
    "null": (TRENDING, '{"n": null}', "not to be None"),
    "nan": (TRENDING, '{"n": NaN}', "non-integer value: nan"),
    "1e400": (TRENDING, '{"n": 1e400}', "non-integer value: inf"),
    "float": (TRENDING, '{"n": 1.5}', "non-integer value: 1.5"),
    "over-32-bits": (TRENDING, '{"n": 1099511627776}', "non 32-bit signed integer"),
    "list-for-string": (USER, '{"u": [1]}', "String cannot represent"),
    "object-for-id": (TWEET, '{"id": {"a": 1}}', "ID cannot represent"),
    "string-for-input": (SIGN_UP, '{"i": "ann"}', "to be an object"),
    "missing-field": (SIGN_UP, '{"i": {"username": "ann"}}', "required field 'email'"),
    "unknown-field": (
        SIGN_UP,
        json.dumps({"i": {**SIGN_UP_INPUT, "admin": True}}),
        "unknown field 'admin'",
    ),
}


@pytest.mark.parametrize(("query", "variables", "says"), UNFIT.values(), ids=UNFIT.keys())
def test_variables_that_do_not_fit_their_types_are_bad_user_input(
    http: TestClient,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: str,
    says: str,
) -> None:
    body = f'{{"query": {json.dumps(query)}, "variables": {variables}}}'
    with caplog.at_level(logging.ERROR):
        response = http.post("/graphql", content=body.encode(), headers=JSON)
    assert set(_codes(response)) == {"BAD_USER_INPUT"}
    errors = response.json()["errors"]
    assert all(error["message"].startswith("Variable '$") for error in errors)
    assert any(says in error["message"] for error in errors)
    assert not caplog.records  # a client's mistake is an answer, not an incident


# --- operations -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_subscription_over_http_is_a_bad_request(http: TestClient, method: str) -> None:
    query = "subscription { homeTimeline { type } }"
    if method == "GET":
        response = http.get("/graphql", params={"query": query})
    else:
        response = http.post("/graphql", json={"query": query})
    error = _refusal(response)
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert "subscriptions are not allowed" in error["message"]


def test_several_operations_need_an_operation_name(http: TestClient) -> None:
    document = "query A { trending { count } } query B { me { id } }"
    response = http.post("/graphql", json={"query": document})
    assert _codes(response) == ["BAD_REQUEST"]
    (error,) = response.json()["errors"]
    assert error["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    named = http.post("/graphql", json={"query": document, "operationName": "B"}).json()
    assert named["data"] == {"me": None}  # B ran, not the first


# --- refusals the framework makes -------------------------------------------------------------

ME = "{ me { id } }"
REFUSED = {
    "wrong-content-type": (
        {"method": "POST", "content": ME.encode(), "headers": {"content-type": "text/plain"}},
        "Unsupported content type",
    ),
    "get-without-query": (
        {"method": "GET", "headers": {"accept": "application/json"}},
        "No GraphQL query",
    ),
    "malformed-variables-param": (
        {"method": "GET", "params": {"query": ME, "variables": "{"}},
        "not valid JSON",
    ),
    "variables-param-not-an-object": (
        {"method": "GET", "params": {"query": ME, "variables": "[1]"}},
        "`variables` must be an object",
    ),
    "mutation-over-get": (
        {"method": "GET", "params": {"query": 'mutation { logOut(refreshToken: "x") }'}},
        "mutations are not allowed",
    ),
    "missing-query": ({"method": "POST", "json": {}}, "No GraphQL query"),
    "query-not-a-string": ({"method": "POST", "json": {"query": 42}}, "`query` must be a string"),
    "variables-not-an-object": (
        {"method": "POST", "json": {"query": ME, "variables": [1]}},
        "`variables` must be an object",
    ),
    "unknown-operation": (
        {"method": "POST", "json": {"query": "query A { me { id } }", "operationName": "B"}},
        'Unknown operation named "B"',
    ),
}


@pytest.mark.parametrize(("request_args", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_refused_requests_answer_json_with_a_code(
    http: TestClient, request_args: dict[str, Any], says: str
) -> None:
    error = _refusal(http.request(url="/graphql", **request_args))
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert says in error["message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_not_allowed(http: TestClient, method: str) -> None:
    response = http.request(method, "/graphql", json={"query": ME})
    error = _refusal(response, status=405)
    assert error["extensions"] == {"code": "METHOD_NOT_ALLOWED"}
    assert response.headers["allow"] == "GET, POST"


def test_without_graphiql_a_get_without_a_query_is_a_missing_query(
    production: TestClient,
) -> None:
    error = _refusal(production.get("/graphql", headers={"accept": "text/html"}))
    assert error["extensions"] == {"code": "BAD_REQUEST"}


# --- suggestions ------------------------------------------------------------------------------

MISSPELT = {
    "argument": ('{ search(query: "x", frist: 1) { pageInfo { hasNextPage } } }', None),
    "field": ("{ mee { id } }", None),
    "type": ("{ me { id } } fragment F on Tweeet { id }", None),
    "input-field": (
        'mutation { signUp(input: {usernam: "a", email: "a", password: "b"}) { accessToken } }',
        None,
    ),
    "variable-input-field": (SIGN_UP, {"i": {**SIGN_UP_INPUT, "pasword": "x"}}),
}


@pytest.mark.parametrize(("query", "variables"), MISSPELT.values(), ids=MISSPELT.keys())
def test_production_suggests_no_names(
    http: TestClient, production: TestClient, query: str, variables: dict[str, Any] | None
) -> None:
    payload = {"query": query, "variables": variables}
    suggested = http.post("/graphql", json=payload).json()["errors"]
    assert any("Did you mean" in error["message"] for error in suggested)  # outside production
    errors = production.post("/graphql", json=payload).json()["errors"]
    assert errors and not any("Did you mean" in error["message"] for error in errors)


# --- websockets (graphql-transport-ws) --------------------------------------------------------

INIT = json.dumps({"type": "connection_init", "payload": {}})


def _close_code(http: TestClient, *frames: str) -> int:
    """Send the frames; the code the server closes the socket with."""
    with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        for frame in frames:
            socket.send_text(frame)
        socket.send_text(json.dumps({"type": "ping"}))  # a pong means the socket stayed open
        while (message := socket.receive())["type"] != "websocket.close":
            assert "pong" not in message.get("text", ""), "the server did not close the socket"
        return int(message["code"])


def _subscribe(**changes: Any) -> str:
    frame = {"type": "subscribe", "id": "1", "payload": {"query": "{ me { id } }"}, **changes}
    return json.dumps(frame)


FRAMES = {
    "array": "[1, 2]",
    "number": "42",
    "null": "null",
    "string": '"connection_init"',
    "deep": DEEP,
    "type-not-a-string": '{"type": 1}',
    "lone-surrogate": '{"type": "connection_init", "payload": {"token": "a.\\ud800"}}',
}
AFTER_INIT = {
    "subscribe-without-id": _subscribe(id=None),
    "subscribe-with-list-id": _subscribe(id=[1]),
    "payload-not-an-object": _subscribe(payload="{ me { id } }"),
    "query-not-a-string": _subscribe(payload={"query": 42}),
    "variables-not-an-object": _subscribe(payload={"query": "{ me { id } }", "variables": [1]}),
    "operation-name-not-a-string": _subscribe(
        payload={"query": "{ me { id } }", "operationName": 1}
    ),
    "complete-with-number-id": json.dumps({"type": "complete", "id": 5}),
}


@pytest.mark.parametrize("frame", FRAMES.values(), ids=FRAMES.keys())
def test_a_frame_that_is_no_message_closes_the_socket_with_4400(
    http: TestClient, frame: str
) -> None:
    assert _close_code(http, frame) == 4400


@pytest.mark.parametrize("frame", AFTER_INIT.values(), ids=AFTER_INIT.keys())
def test_a_malformed_message_after_init_closes_the_socket_with_4400(
    http: TestClient, frame: str
) -> None:
    assert _close_code(http, INIT, frame) == 4400


@pytest.mark.parametrize(
    "token",
    ['"a.\u00e9"', '"\u00e9"', "42", '"not.ours"'],
    ids=["non-ascii", "no-dot", "number", "ascii"],
)
def test_a_token_that_is_not_ours_is_refused_with_4403(http: TestClient, token: str) -> None:
    init = f'{{"type": "connection_init", "payload": {{"token": {token}}}}}'
    assert _close_code(http, init) == 4403


def test_bad_variables_over_a_websocket_are_bad_user_input(http: TestClient) -> None:
    query = "query($n: Int!) { trending(limit: $n) { hashtag } }"
    with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_text(INIT)
        assert socket.receive_json()["type"] == "connection_ack"
        socket.send_text(_subscribe(payload={"query": query, "variables": {"n": "ten"}}))
        payload = socket.receive_json()["payload"]
    assert [error["extensions"]["code"] for error in payload["errors"]] == ["BAD_USER_INPUT"]


# --- /metrics ---------------------------------------------------------------------------------


def test_metrics_are_open_outside_production_without_a_token(http: TestClient) -> None:
    assert http.get("/metrics").status_code == 200


def test_metrics_are_not_served_in_production_without_a_token(production: TestClient) -> None:
    assert production.get("/metrics").status_code == 404
    assert production.get("/metrics", headers={"authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("env", ["development", "production"])
def test_metrics_need_the_token_once_one_is_set(tmp_path: Path, env: str) -> None:
    settings = embedded_settings(tmp_path, run_workers=False, env=env, metrics_token="s3cret")
    with running_app(settings) as client:
        http = client.http
        assert http.get("/metrics", headers={"authorization": "Bearer s3cret"}).status_code == 200
        for wrong in (None, b"Bearer nope", b"Basic s3cret", "Bearer s3cr\u00e9t".encode()):
            headers = {"authorization": wrong} if wrong else {}
            refused = http.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "chirp_" not in refused.text
