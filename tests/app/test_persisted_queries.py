"""Persisted queries (app/persisted.py): Apollo's automatic persisted queries over POST, GET
and websockets, Cache-Control for what a CDN may keep, trusted documents, and Apollo Client's
own persisted-query link from npm, run by node against `chirp serve`."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from app.settings import Settings
from tests.backends import backend_url, in_ci
from tests.support.browser import chirp_serve
from tests.support.client import running_app
from tests.support.profiles import PROFILES, settings_on, unique
from tests.support.server import live_server, ws_connect

WEB = Path(__file__).resolve().parents[2] / "web"
# The engines' Redis outlives a test run, and a registered document stays 7 days: each test
# names its operations afresh, so "not registered yet" is true on every run.
RUN = secrets.token_hex(4)
PROFILE = f"query Profile_{RUN}($username: String!) {{ user(username: $username) {{ username }} }}"
ME = f"query Me_{RUN} {{ me {{ username }} }}"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


def get(http: TestClient, document: str, variables: dict[str, Any], **headers: str) -> Any:
    params = {"extensions": json.dumps(persisted(document)), "variables": json.dumps(variables)}
    return http.get("/graphql", params=params, headers=headers)


def sign_up(http: TestClient, username: str) -> str:
    response = http.post(
        "/graphql",
        json={
            "query": """mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }""",
            "variables": {
                "input": {
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": "correct horse battery",
                }
            },
        },
    )
    return str(response.json()["data"]["signUp"]["accessToken"])


def code_of(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


@pytest.mark.parametrize("profile", PROFILES)
def test_a_hash_runs_once_registered_and_only_anonymous_gets_are_public(
    profile: str, tmp_path: Path
) -> None:
    with running_app(settings_on(profile, tmp_path)) as client:
        http = client.http
        name = unique("pq")
        token = sign_up(http, name)

        unknown = get(http, PROFILE, {"username": name})
        assert unknown.status_code == 200
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
        assert unknown.headers["cache-control"] == "no-store"  # a CDN must not keep the miss

        registered = http.post(
            "/graphql",
            json={
                "query": PROFILE,
                "variables": {"username": name},
                "extensions": persisted(PROFILE),
            },
        )
        assert registered.json()["data"] == {"user": {"username": name}}
        assert registered.headers["cache-control"] == "no-store"  # a POST is not cached

        hit = get(http, PROFILE, {"username": name})
        assert hit.json()["data"] == {"user": {"username": name}}
        assert "rateLimit" not in hit.json().get("extensions", {})  # no one's own figures
        assert hit.headers["cache-control"] == "public, max-age=30"
        assert hit.headers["vary"] == "Authorization"

        mine = get(http, ME, {}, Authorization=f"Bearer {token}")
        assert code_of(mine) == "PERSISTED_QUERY_NOT_FOUND"
        http.post("/graphql", json={"query": ME, "extensions": persisted(ME)})
        mine = get(http, ME, {}, Authorization=f"Bearer {token}")
        assert mine.json()["data"] == {"me": {"username": name}}
        assert mine.json()["extensions"]["rateLimit"]["remaining"] > 0  # the viewer's own
        assert mine.headers["cache-control"] == "private, no-store"

        missing = get(http, PROFILE, {"username": unique("nobody")})
        assert missing.json()["data"] == {"user": None}  # an answer like any other
        assert missing.headers["cache-control"] == "public, max-age=30"
        failed = get(http, PROFILE, {})  # a variable missing: an error is never public
        assert failed.json()["errors"]
        assert failed.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("profile", PROFILES)
def test_a_wrong_hash_or_version_is_refused_with_a_code(profile: str, tmp_path: Path) -> None:
    with running_app(settings_on(profile, tmp_path)) as client:
        http = client.http

        def post(query: str | None, extensions: Any) -> Any:
            return http.post("/graphql", json={"query": query, "extensions": extensions})

        lying = post("{ __typename }", persisted("{ me { username } }"))
        assert (lying.status_code, code_of(lying)) == (400, "PERSISTED_QUERY_HASH_MISMATCH")
        unseen = f"query Unseen_{secrets.token_hex(4)} {{ __typename }}"
        assert post(None, persisted(unseen)).json()["errors"][0]["extensions"]["code"] == (
            "PERSISTED_QUERY_NOT_FOUND"
        )
        assert code_of(post("{ __typename }", persisted("{ __typename }", 2))) == (
            "PERSISTED_QUERY_NOT_SUPPORTED"
        )
        short = post(None, {"persistedQuery": {"version": 1, "sha256Hash": "abc"}})
        assert (short.status_code, code_of(short)) == (400, "BAD_REQUEST")
        assert code_of(post(None, {"persistedQuery": "yes"})) == "BAD_REQUEST"
        # A mutation never runs by GET, even registered.
        mutation = 'mutation { logOut(refreshToken: "x") }'
        post(mutation, persisted(mutation))
        refused = http.get("/graphql", params={"extensions": json.dumps(persisted(mutation))})
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"]


def test_documents_live_in_redis_for_every_process(tmp_path: Path) -> None:
    settings = settings_on("engines", tmp_path)
    name = unique("pq")
    document = f"query Shared_{RUN} {{ user(username: {json.dumps(name)}) {{ username }} }}"
    with running_app(settings) as one:
        sign_up(one.http, name)
        one.http.post("/graphql", json={"query": document, "extensions": persisted(document)})
    keys = list(
        redis.Redis.from_url(backend_url("CHIRP_CACHE_URL")).scan_iter(f"*pq:{sha256(document)}")
    )
    assert len(keys) == 1
    ttl = redis.Redis.from_url(backend_url("CHIRP_CACHE_URL")).ttl(keys[0])
    assert 6 * 86400 < ttl <= 7 * 86400
    with running_app(settings) as another:  # a new process's memory: only Redis has it
        hit = another.http.post("/graphql", json={"extensions": persisted(document)})
        assert hit.json()["data"] == {"user": {"username": name}}


def manifest(
    tmp_path: Path, *documents: str, apollo: bool = True, name: str = "manifest.json"
) -> Path:
    path = tmp_path / name
    if apollo:
        operations = [
            {"id": sha256(body), "name": f"op{i}", "type": "query", "body": body}
            for i, body in enumerate(documents)
        ]
        path.write_text(
            json.dumps(
                {
                    "format": "apollo-persisted-query-manifest",
                    "version": 1,
                    "operations": operations,
                }
            )
        )
    else:
        path.write_text(json.dumps({sha256(body): body for body in documents}))
    return path


@pytest.mark.parametrize("profile", PROFILES)
def test_trusted_documents_refuse_anything_else(profile: str, tmp_path: Path) -> None:
    subscription = "subscription { homeTimeline { type } }"
    path = manifest(tmp_path, PROFILE, subscription)
    settings = settings_on(profile, tmp_path).with_overrides(trusted_documents=str(path))
    with running_app(settings) as client:
        http = client.http
        name = unique("trusted")
        by_hash = http.post(
            "/graphql", json={"variables": {"username": name}, "extensions": persisted(PROFILE)}
        )
        assert by_hash.json()["data"] == {"user": None}
        in_full = http.post("/graphql", json={"query": PROFILE, "variables": {"username": name}})
        assert in_full.json()["data"] == {"user": None}

        for request in (
            {"query": "{ __typename }"},  # any other document
            {"query": PROFILE + " "},  # not byte for byte
            {"query": ME, "extensions": persisted(ME)},  # no registration either
            {"extensions": persisted(ME)},
        ):
            refused = http.post("/graphql", json=request)
            assert (refused.status_code, code_of(refused)) == (400, "DOCUMENT_NOT_TRUSTED"), request
            assert "data" not in refused.json()

    with live_server(settings) as url:
        _subscribe_over_websocket(url, subscription)


def test_several_manifests_and_the_web_clients_documents_are_trusted_together(
    tmp_path: Path,
) -> None:
    """A web app's and a mobile app's manifests, comma-separated; the web client served at
    `/` keeps working, because its documents (app/web/documents.json) are trusted too."""
    from app.persisted import WEB_CLIENT_DOCUMENTS
    from tests.support.client import embedded_settings

    web = manifest(tmp_path, PROFILE, name="web.json")
    mobile = manifest(tmp_path, ME, name="mobile.json")
    settings = embedded_settings(tmp_path, trusted_documents=f"{web}, {mobile}")
    client_documents = json.loads(WEB_CLIENT_DOCUMENTS.read_text())["operations"]
    with running_app(settings) as client:
        http = client.http
        name = unique("several")
        assert http.post(
            "/graphql", json={"query": PROFILE, "variables": {"username": name}}
        ).json()["data"] == {"user": None}
        assert http.post("/graphql", json={"query": ME}).json()["data"] == {"me": None}
        for document in client_documents:  # what the web client sends, as it sends it
            if document["type"] == "subscription":
                continue  # over the websocket: the browser test runs them in trusted mode
            answer = http.post("/graphql", json={"extensions": persisted(document["body"])})
            assert code_of(answer) != "DOCUMENT_NOT_TRUSTED", document["name"]
            sent_in_full = http.post("/graphql", json={"query": document["body"]})
            assert code_of(sent_in_full) != "DOCUMENT_NOT_TRUSTED", document["name"]
        refused = http.post("/graphql", json={"query": "{ __typename }"})
        assert code_of(refused) == "DOCUMENT_NOT_TRUSTED"


def test_the_web_clients_documents_are_current_and_valid() -> None:
    """app/web/documents.json is what `make web-documents` writes from operations.js now,
    and every document in it is valid against the schema."""
    from graphql import build_schema, parse, validate

    from app.persisted import WEB_CLIENT_DOCUMENTS

    schema = build_schema((WEB.parent / "schema.graphql").read_text())  # kept current by a test
    checked_in = WEB_CLIENT_DOCUMENTS.read_text()
    operations = json.loads(checked_in)["operations"]
    assert len(operations) >= 17
    for operation in operations:
        assert operation["id"] == sha256(operation["body"])
        assert validate(schema, parse(operation["body"])) == [], operation["name"]
    executable = shutil.which("node")
    if executable is None:
        message = "needs node to compare app/web/documents.json with operations.js"
        if in_ci():
            pytest.fail(f"CI=true but this test {message}", pytrace=False)
        pytest.skip(message)
    made = subprocess.run(
        [executable, str(WEB / "documents.mjs")], capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout == checked_in, "app/web/documents.json is stale: run make web-documents"


def _subscribe_over_websocket(url: str, trusted: str) -> None:
    import asyncio

    from tests.support.server import Subscriber

    async def run() -> None:
        async with ws_connect(url) as socket:
            subscriber = Subscriber(socket)
            await subscriber.init(None)
            await subscriber.send(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { notifications { kind } }"},
                }
            )
            refused = await subscriber.receive()
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
            await subscriber.send(
                {"id": "2", "type": "subscribe", "payload": {"extensions": persisted(trusted)}}
            )
            answered = await subscriber.receive()  # the trusted one runs: anonymous, refused
            assert answered["id"] == "2", answered
            assert answered["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    asyncio.run(run())


def test_a_plain_map_manifest_works_and_a_bad_one_stops_chirp_serve(tmp_path: Path) -> None:
    from tests.support.cli import run_chirp
    from tests.support.client import embedded_settings

    path = manifest(tmp_path, PROFILE, apollo=False)
    settings = embedded_settings(tmp_path, trusted_documents=str(path))
    with running_app(settings) as client:
        answer = client.http.post(
            "/graphql", json={"extensions": persisted(PROFILE), "variables": {"username": "x"}}
        )
        assert answer.json()["data"] == {"user": None}

    lying = tmp_path / "lying.json"
    lying.write_text(json.dumps({sha256("{ me { id } }"): "{ __typename }"}))
    served = run_chirp(
        embedded_settings(tmp_path),
        "serve",
        "--port",
        "1",
        timeout_s=60,
        CHIRP_TRUSTED_DOCUMENTS=str(lying),
    )
    assert served.returncode == 2
    assert "CHIRP_TRUSTED_DOCUMENTS" in served.stderr and "SHA-256" in served.stderr

    # Two unset variables ("${WEB},${IOS}") must not read as "trust any document".
    blank = run_chirp(
        embedded_settings(tmp_path), "serve", "--port", "1", timeout_s=60,
        CHIRP_TRUSTED_DOCUMENTS=" , ",
    )  # fmt: skip
    assert blank.returncode == 2
    assert "names no manifest" in blank.stderr


def node() -> str:
    path = shutil.which("node")
    if path and (WEB / "node_modules" / "@apollo" / "client").is_dir():
        return path
    message = "needs node and web/node_modules (make install) to run Apollo Client"
    if in_ci():
        pytest.fail(f"CI=true but this test {message}", pytrace=False)
    pytest.skip(message)


@pytest.mark.parametrize("profile", PROFILES)
def test_apollo_clients_persisted_query_link(profile: str, tmp_path: Path) -> None:
    settings: Settings = settings_on(profile, tmp_path)
    executable = node()
    with chirp_serve(settings) as url:
        import httpx2

        name = unique("apollo")
        signed = httpx2.post(
            f"{url}/graphql",
            json={
                "query": "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }",
                "variables": {
                    "input": {
                        "username": name,
                        "email": f"{name}@example.com",
                        "password": "correct horse battery",
                    }
                },
            },
        ).json()
        token = signed["data"]["signUp"]["accessToken"]
        ran = subprocess.run(
            [
                executable,
                str(WEB / "clients" / "apollo-persisted.cjs"),
                f"{url}/graphql",
                f"Profile_{secrets.token_hex(4)}",  # a new operation: not registered yet
                name,
                token,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert ran.returncode == 0, ran.stderr
    steps = {step["name"]: step for step in json.loads(ran.stdout)["steps"]}
    expected = {"user": {"__typename": "User", "username": name, "displayName": name}}

    first = steps["first"]
    assert [(r["method"], r["sentQuery"]) for r in first["requests"]] == [
        ("GET", False),  # the hash alone: not known yet
        ("POST", True),  # the link sends the query with the hash: registered
    ]
    assert first["data"] == expected
    for name_ in ("again", "another client"):
        (request,) = steps[name_]["requests"]  # one GET by hash: no query on the wire
        assert (request["method"], request["sentQuery"], request["status"]) == ("GET", False, 200)
        assert request["cacheControl"] == "public, max-age=30"
        assert steps[name_]["data"] == expected
    (private,) = steps["with a token"]["requests"]
    assert private["cacheControl"] == "private, no-store"
