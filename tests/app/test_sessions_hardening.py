"""Sessions: a replayed refresh token revokes its whole family; after logOut the session's
access tokens stop working (in this process, after a restart, and without a store round
trip on the hot path); a validly signed token for a user who does not exist is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from app.tokens import AccessTokens
from tests.support.client import GraphQLClient, embedded_settings, running_app

REFRESH = """mutation($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken } }"""
LOG_OUT = "mutation($t: String!) { logOut(refreshToken: $t) }"
LOG_IN = """mutation($login: String!, $password: String!) {
  logIn(login: $login, password: $password) { accessToken refreshToken } }"""
PASSWORD = "correct horse battery"
# One operation of each kind that needs a viewer: each must refuse a token not honoured.
NEEDS_VIEWER = [
    "{ homeTimeline { edges { cursor } } }",
    "{ settings { language } }",
    'mutation { postTweet(input: {text: "hi"}) { id } }',
    'mutation { updateProfile(input: {bio: "hi"}) { bio } }',
    'mutation { likeTweet(id: "12345") { id } }',
]


def _refresh(client: GraphQLClient, token: str) -> dict[str, Any]:
    return client.data(REFRESH, {"token": token})["refreshToken"]


def _refused(client: GraphQLClient, access_token: str) -> None:
    """The token is treated as no token at all, for every kind of operation."""
    for query in NEEDS_VIEWER:
        assert client.error_code(query, token=access_token) == "UNAUTHENTICATED", query
    assert client.data("{ me { id } }", token=access_token)["me"] is None


def _works(client: GraphQLClient, access_token: str) -> None:
    assert client.data("{ me { id } }", token=access_token)["me"] is not None


def test_replaying_a_rotated_refresh_token_revokes_the_whole_family(
    client: GraphQLClient,
) -> None:
    first = client.sign_up("alice", PASSWORD)
    elsewhere = client.data(LOG_IN, {"login": "alice", "password": PASSWORD})["logIn"]
    second = _refresh(client, first["refreshToken"])
    third = _refresh(client, second["refreshToken"])
    _works(client, third["accessToken"])

    # The first token again (stolen, or replayed): refused, and its family ends with it.
    assert client.error_code(REFRESH, {"token": first["refreshToken"]}) == "UNAUTHENTICATED"
    assert client.error_code(REFRESH, {"token": third["refreshToken"]}) == "UNAUTHENTICATED"
    _refused(client, third["accessToken"])
    _refused(client, first["accessToken"])
    # Another log-in is another family: untouched.
    _works(client, elsewhere["accessToken"])
    _works(client, _refresh(client, elsewhere["refreshToken"])["accessToken"])


def test_a_thief_who_refreshes_first_loses_the_session_when_the_owner_comes_back(
    client: GraphQLClient,
) -> None:
    owner = client.sign_up("alice", PASSWORD)
    thief = _refresh(client, owner["refreshToken"])  # the thief uses the stolen token first
    thief = _refresh(client, thief["refreshToken"])
    assert client.error_code(REFRESH, {"token": owner["refreshToken"]}) == "UNAUTHENTICATED"
    assert client.error_code(REFRESH, {"token": thief["refreshToken"]}) == "UNAUTHENTICATED"
    _refused(client, thief["accessToken"])


def test_log_out_ends_the_session_and_its_access_tokens(client: GraphQLClient) -> None:
    session = client.sign_up("alice", PASSWORD)
    other = client.data(LOG_IN, {"login": "alice", "password": PASSWORD})["logIn"]
    renewed = _refresh(client, session["refreshToken"])
    _works(client, renewed["accessToken"])

    assert client.data(LOG_OUT, {"t": renewed["refreshToken"]})["logOut"] is True
    _refused(client, renewed["accessToken"])
    _refused(client, session["accessToken"])  # an older access token of the same session
    assert client.error_code(REFRESH, {"token": renewed["refreshToken"]}) == "UNAUTHENTICATED"
    assert client.data(LOG_OUT, {"t": renewed["refreshToken"]})["logOut"] is False
    assert client.data(LOG_OUT, {"t": "never-issued"})["logOut"] is False
    _works(client, other["accessToken"])  # the user's other session goes on


def test_log_out_with_a_used_token_still_ends_the_session(client: GraphQLClient) -> None:
    session = client.sign_up("alice", PASSWORD)
    renewed = _refresh(client, session["refreshToken"])
    assert client.data(LOG_OUT, {"t": session["refreshToken"]})["logOut"] is False
    _refused(client, renewed["accessToken"])


def test_a_revocation_outlives_a_restart(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path)
    with running_app(settings) as client:
        session = client.sign_up("alice", PASSWORD)
        assert client.data(LOG_OUT, {"t": session["refreshToken"]})["logOut"] is True
    with running_app(settings) as client:  # a fresh process: empty caches
        _refused(client, session["accessToken"])


def test_checking_a_session_reads_the_store_once_then_the_cache(client: GraphQLClient) -> None:
    token = client.sign_up("alice", PASSWORD)["accessToken"]
    sessions = client.http.app.state.chirp.stores.sessions  # type: ignore[attr-defined]
    real = sessions.revoked_families
    calls: list[object] = []

    async def counted(family_ids: Any) -> list[bool]:
        calls.append(family_ids)
        return await real(family_ids)

    sessions.revoked_families = counted
    try:
        for _ in range(5):
            _works(client, token)
    finally:
        sessions.revoked_families = real
    assert len(calls) <= 1


def test_a_signed_token_for_a_user_who_does_not_exist_is_refused(
    client: GraphQLClient,
) -> None:
    tokens = AccessTokens("test-secret-key", ttl_s=900)  # the test app's own secret
    ghost = tokens.issue(user_id=1_234_567_890_123, session_id=42)
    _refused(client, ghost)
    real = client.sign_up("alice", PASSWORD)
    me = int(real["user"]["databaseId"])
    _works(client, tokens.issue(user_id=me, session_id=42))  # a user who exists: honoured


def test_a_token_without_a_session_id_is_refused(client: GraphQLClient) -> None:
    """Access tokens from before sessions had ids: a refresh gives one that works."""
    user = client.sign_up("alice", PASSWORD)
    key = hashlib.sha256(b"chirp-access:test-secret-key").digest()
    payload = {"sub": user["user"]["databaseId"], "exp": int(time.time()) + 600}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signature = hmac.new(key, body.encode(), hashlib.sha256).digest()
    legacy = f"{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    _refused(client, legacy)


def test_every_auth_payload_says_when_its_access_token_expires(tmp_path: Path) -> None:
    with running_app(embedded_settings(tmp_path, access_token_ttl_s=2)) as client:
        signed_up = client.data(
            """mutation($input: SignUpInput!) { signUp(input: $input) {
                accessToken refreshToken expiresIn } }""",
            {"input": {"username": "alice", "email": "a@example.com", "password": PASSWORD}},
        )["signUp"]
        logged_in = client.data(
            LOG_IN.replace("refreshToken }", "refreshToken expiresIn }"),
            {"login": "alice", "password": PASSWORD},
        )["logIn"]
        refreshed = client.data(
            REFRESH.replace("refreshToken }", "refreshToken expiresIn }"),
            {"token": logged_in["refreshToken"]},
        )["refreshToken"]
        assert [signed_up["expiresIn"], logged_in["expiresIn"], refreshed["expiresIn"]] == [2] * 3
        _works(client, refreshed["accessToken"])
        time.sleep(refreshed["expiresIn"] + 0.5)  # a client that waits that long must refresh
        _refused(client, refreshed["accessToken"])
        _works(client, _refresh(client, refreshed["refreshToken"])["accessToken"])
