import time

from tests.support.client import GraphQLClient

SIGN_UP = (
    """mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { username } } }"""
)
LOG_IN = """mutation($login: String!, $password: String!) {
  logIn(login: $login, password: $password) { accessToken refreshToken user { username } } }"""
REFRESH = """mutation($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken } }"""
ME = "{ me { username displayName bio location website protected } }"


def _sign_up(client: GraphQLClient, **fields: str) -> dict:
    values = {"username": "alice", "email": "alice@example.com", "password": "longenough", **fields}
    return client.post(SIGN_UP, {"input": values})


def test_sign_up_then_me(client: GraphQLClient) -> None:
    session = client.sign_up("alice")
    me = client.data(ME, token=session["accessToken"])["me"]
    assert me["username"] == "alice" and me["displayName"] == "alice" and not me["protected"]
    assert client.data(ME)["me"] is None  # anonymous


def test_usernames_and_emails_are_unique_ignoring_case(client: GraphQLClient) -> None:
    client.sign_up("alice")
    taken = _sign_up(client, username="ALICE", email="other@example.com")
    assert taken["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "username"}
    taken = _sign_up(client, username="alice2", email="Alice@Example.com")
    assert taken["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "email"}


def test_sign_up_validation(client: GraphQLClient) -> None:
    for fields, field in [
        ({"username": "has space"}, "username"),
        ({"username": "x" * 16}, "username"),
        ({"username": ""}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
    ]:
        body = _sign_up(client, **fields)
        assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, fields
    assert _sign_up(client, username="a_1")["data"]["signUp"]["user"]["username"] == "a_1"


def test_log_in_by_username_or_email_and_uniform_failures(client: GraphQLClient) -> None:
    client.sign_up("alice", password="correct horse")
    for login in ("alice", "ALICE", "alice@example.com"):
        result = client.data(LOG_IN, {"login": login, "password": "correct horse"})["logIn"]
        assert result["user"]["username"] == "alice"
    timings = {}
    for login, password in (("alice", "wrong password"), ("nobody", "correct horse")):
        started = time.perf_counter()
        body = client.post(LOG_IN, {"login": login, "password": password})
        timings[login] = time.perf_counter() - started
        assert body["errors"][0]["message"] == "Invalid username or password."
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # An unknown user still pays for a password hash (no fast path that reveals who exists).
    assert timings["nobody"] > timings["alice"] * 0.3


def test_refresh_tokens_rotate_and_work_once(client: GraphQLClient) -> None:
    session = client.sign_up("alice")
    renewed = client.data(REFRESH, {"token": session["refreshToken"]})["refreshToken"]
    assert renewed["refreshToken"] != session["refreshToken"]
    assert client.data(ME, token=renewed["accessToken"])["me"]["username"] == "alice"
    logged_out = client.data(
        "mutation($t: String!) { logOut(refreshToken: $t) }", {"t": renewed["refreshToken"]}
    )
    assert logged_out["logOut"] is True
    assert client.error_code(REFRESH, {"token": renewed["refreshToken"]}) == "UNAUTHENTICATED"
    # Replaying a rotated token revokes its whole family: tests/app/test_sessions_hardening.py
    assert client.error_code(REFRESH, {"token": session["refreshToken"]}) == "UNAUTHENTICATED"


def test_bad_tokens_are_unauthenticated(client: GraphQLClient) -> None:
    assert client.error_code("{ homeTimeline { edges { cursor } } }") == "UNAUTHENTICATED"
    body = client.post("{ homeTimeline { edges { cursor } } }", token="forged.token")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


def test_update_profile_and_settings(client: GraphQLClient) -> None:
    token = client.sign_up("alice")["accessToken"]
    updated = client.data(
        """mutation { updateProfile(input: {displayName: "Alice A.", bio: "hi", website: null}) {
            displayName bio website } }""",
        token=token,
    )["updateProfile"]
    assert updated == {"displayName": "Alice A.", "bio": "hi", "website": None}
    assert client.data(ME, token=token)["me"]["bio"] == "hi"
    settings = client.data(
        """mutation { updateSettings(input: {language: "fr", timezone: "Europe/Paris",
            privateAccount: true, notificationPreferences: {like: false}}) {
            language timezone privateAccount allowDmsFrom
            notificationPreferences { like retweet followRequestApproved } } }""",
        token=token,
    )["updateSettings"]
    assert settings == {
        "language": "fr",
        "timezone": "Europe/Paris",
        "privateAccount": True,
        "allowDmsFrom": "following",
        "notificationPreferences": {"like": False, "retweet": True, "followRequestApproved": True},
    }
    assert client.data(ME, token=token)["me"]["protected"] is True
    assert (
        client.error_code(
            'mutation { updateProfile(input: {bio: "%s"}) { bio } }' % ("x" * 161), token=token
        )
        == "BAD_USER_INPUT"
    )
    assert (
        client.error_code(
            'mutation { updateSettings(input: {allowDmsFrom: "aliens"}) { language } }', token=token
        )
        == "BAD_USER_INPUT"
    )
