"""GraphiQL at GET /graphql, served by the app itself: every file it loads comes from the app's
own origin, named by its digest and pinned by its integrity hash, under a Content-Security-
Policy that allows nothing else. A real headless Chromium with every other origin refused signs
up, pastes the token into the Headers tab, runs a query and a live subscription from the editor,
and sees the results, on both profiles."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Page, WebSocket, expect

from app.assets import VENDOR, Bundle
from app.explorer import OWN_FILES, Explorer
from tests.support.browser import chirp_serve, chromium, same_origin_only, screenshot
from tests.support.client import embedded_settings, running_app
from tests.support.pages import PageTags
from tests.support.profiles import PROFILES, settings_on, unique

HTML = {"accept": "text/html"}
ALLOWED_SOURCES = {"'self'", "'none'", "data:", "blob:"}
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESPONSE = ".graphiql-response"
WAIT_MS = 20_000
# Collected from the first script on: a violation would otherwise only reach the console.
CSP_LISTENER = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});"""


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def test_the_page_loads_only_its_own_files_by_their_integrity(tmp_path: Path) -> None:
    with running_app(embedded_settings(tmp_path)) as client:
        page = client.http.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        tags = PageTags(page.text)
        assert tags.inline == []
        names = {url.split("?")[0].rsplit("/", 1)[1] for url, _ in tags.files}
        assert {"graphiql.min.js", "plugin-explorer.umd.js", "boot.js", "graphiql.min.css"} <= names
        for url, integrity in tags.files:
            assert url.startswith("/static/"), url
            served = client.http.get(url)
            assert served.status_code == 200, url
            sha384 = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
            assert integrity == f"sha384-{sha384}", url
            assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert served.headers["x-content-type-options"] == "nosniff"

        policy = _policy(page.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
        assert policy["connect-src"] == ["'self'"]  # also the same origin's ws:// in Chromium
        for name, sources in policy.items():
            assert set(sources) <= ALLOWED_SOURCES, (name, sources)
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["cache-control"] == "no-cache"  # it names the files' current digests
        assert "http://" not in page.text and "https://" not in page.text


def test_production_serves_neither_the_page_nor_its_files(tmp_path: Path) -> None:
    with running_app(embedded_settings(tmp_path, env="production")) as client:
        assert "graphiql" not in client.http.get("/graphql", headers=HTML).text.lower()
        assert client.http.get("/static/graphiql/boot.js").status_code == 404


def test_without_the_npm_files_the_page_says_to_run_make_install(tmp_path: Path) -> None:
    # The real app reads app/static/vendor, shared by everyone running tests here: an
    # explorer over an empty folder stands for a checkout where npm never ran.
    own = Bundle(Path(__file__).parents[2] / "app" / "static" / "graphiql", "/x", OWN_FILES)
    response = Explorer(Bundle(tmp_path, "/static/vendor", VENDOR), own).response()
    assert response.status_code == 503
    text = bytes(response.body).decode()
    assert "make install" in text and "<script" not in text
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize("profile", PROFILES)
def test_a_browser_runs_queries_and_a_subscription_from_the_editor(
    profile: str, tmp_path: Path
) -> None:
    settings = settings_on(profile, tmp_path)
    username = unique("graphiql")
    # The engines' Redis is shared: other tests sign up from this address in the same minute.
    with chirp_serve(settings, CHIRP_SIGN_UPS_PER_MINUTE="100000") as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        refused = same_origin_only(context, url)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        sockets: list[str] = []
        sent: list[str] = []  # the frames the page sends over its websockets

        def watch(socket: WebSocket) -> None:
            sockets.append(socket.url)
            socket.on("framesent", lambda frame: sent.append(str(frame)))

        page.on("websocket", watch)

        try:
            page.goto(f"{url}/graphql")
            page.wait_for_selector(QUERY_EDITOR, timeout=WAIT_MS)
            signed_up = _run(page, "SignUp", SIGN_UP % (username, username))
            token = signed_up["data"]["signUp"]["accessToken"]

            page.click(".graphiql-editor-tools button[data-name=headers]")
            page.click(HEADERS_EDITOR)
            page.keyboard.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))
            me = _run(page, "Me", "query Me { me { username } }")
            assert me["data"] == {"me": {"username": username}}

            _execute(page, "Live", "subscription Live { homeTimeline { type tweet { text } } }")
            _wait_for(page, lambda: any('"type":"subscribe"' in frame for frame in sent))
            # The Headers tab's token goes with the socket's connection_init.
            assert '"type":"connection_init"' in sent[0] and token in sent[0]
            _post(url, token, "seen live in GraphiQL")
            expect(page.locator(RESPONSE)).to_contain_text("seen live in GraphiQL", timeout=WAIT_MS)
        finally:  # a CI artifact, for a person to look at when it fails too
            screenshot(page, f"graphiql-{profile}")

        assert page.evaluate("window.cspViolations") == []
        assert errors == []
        assert refused == []
        assert sockets == [f"{url.replace('http', 'ws', 1)}/graphql"]
        context.close()


SIGN_UP = """mutation SignUp { signUp(input: {
  username: "%s", email: "%s@example.com", password: "correct horse battery"
}) { accessToken user { username } } }"""


def _execute(page: Page, name: str, document: str) -> None:
    """Put `document` in the query editor and press the run button, once GraphiQL has read its
    operation name (it parses what is typed after a 100 ms pause)."""
    page.evaluate(f"d => document.querySelector('{QUERY_EDITOR}').CodeMirror.setValue(d)", document)
    page.wait_for_function(
        f"n => document.querySelector('{QUERY_EDITOR}').CodeMirror.operationName === n", arg=name
    )
    page.click(".graphiql-execute-button")


def _run(page: Page, name: str, document: str) -> dict[str, Any]:
    """Run a query or mutation from the editor; the JSON the result pane shows."""
    previous = _result_text(page)
    _execute(page, name, document)
    page.wait_for_function(
        """previous => {
          const shown = document.querySelector('.graphiql-response .CodeMirror');
          return shown && shown.CodeMirror.getValue() !== previous
            && shown.CodeMirror.getValue().trim().endsWith('}');
        }""",
        arg=previous,
        timeout=WAIT_MS,
    )
    result: dict[str, Any] = json.loads(_result_text(page))
    return result


def _result_text(page: Page) -> str:
    return str(
        page.evaluate(
            """() => {
              const shown = document.querySelector('.graphiql-response .CodeMirror');
              return shown ? shown.CodeMirror.getValue() : '';
            }"""
        )
    )


def _wait_for(page: Page, check: Callable[[], bool]) -> None:
    """Until `check` holds, letting the page's events through meanwhile."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, "the page did not get there in time"
        page.wait_for_timeout(50)


def _post(url: str, token: str, text: str) -> None:
    """Post a tweet over plain HTTP, as another client of the same user would."""
    response = httpx2.post(
        f"{url}/graphql",
        json={
            "query": "mutation($text: String!) { postTweet(input: {text: $text}) { id } }",
            "variables": {"text": text},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200 and not response.json().get("errors"), response.text
