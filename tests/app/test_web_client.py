"""The web client at `/` (app/web_client.py, app/web/), used as people use it: Debian's
chromium driven by Playwright against `chirp serve`, on each profile (S3 media on the engines).

Two people sign up in two browser contexts; B finds A by people search and follows; A hears
of it in the notifications; A posts a tweet with an image; it arrives in B's open home
timeline over the subscription, image and all, without a reload; B finds it by search and
unfollows. No request leaves the app's origin (and the media store's), and neither page logs
an error or a Content-Security-Policy violation. Screenshots: artifacts/web-client-*.png."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Locator, Page, Route, expect

from app.settings import Settings
from app.web_client import OWN_FILES, VENDOR_FILES
from tests.backends import backend_url
from tests.support.browser import chirp_serve, chromium, screenshot
from tests.support.client import running_app
from tests.support.pages import PageTags
from tests.support.profiles import PROFILES, settings_on, unique

STEP_MS = 15_000  # a step the server answers at once (sign-up hashes a password: slow-ish)
LIVE_WAIT_MS = 20_000  # fan-out runs in a job: the worker inside `chirp serve` picks it up
INDEX_WAIT_S = 30  # search sees a new account or tweet once its index job ran (and ES refreshed)
PASSWORD = "correct horse battery"
SIGN_UP = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }"
UPLOAD = """mutation($size: Int!) {
  createMediaUpload(contentType: "video/mp4", size: $size) { mediaId uploadUrl } }"""
POST = "mutation($input: PostTweetInput!) { postTweet(input: $input) { id } }"
# Tests sign up several people from one address; the throttles are tested elsewhere.
UNTHROTTLED = {
    "CHIRP_SIGN_UPS_PER_MINUTE": "100000",
    "CHIRP_LOG_INS_PER_MINUTE": "100000",
    "CHIRP_MUTATIONS_PER_MINUTE": "100000",
    "CHIRP_REFRESHES_PER_MINUTE": "100000",
    "CHIRP_EXECUTION": "verify",  # every query of the client runs both ways and must agree
}
# Recorded in each page before its scripts run: what the policy refused.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def web_settings(profile: str, tmp_path: Path) -> Settings:
    settings = settings_on(profile, tmp_path)
    if profile == "engines":
        return settings.with_overrides(media_url=backend_url("CHIRP_MEDIA_URL"))
    return settings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def media_origin(settings: Settings) -> str:
    """Where media's signed URLs point: the S3 endpoint, or the server's public base URL."""
    endpoint = settings.media_url.partition("endpoint_url=")[2]
    return origin_of(endpoint or settings.public_base_url)


def png(width: int, height: int) -> bytes:
    """An RGB PNG a browser decodes: a gradient from blue to green."""

    def row(y: int) -> bytes:  # each row starts with its filter type, 0: none
        pixels = (
            bytes((29, 155 + 100 * x // width, 240 - 120 * y // height)) for x in range(width)
        )
        return b"\x00" + b"".join(pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    pixels = zlib.compress(b"".join(row(y) for y in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@contextmanager
def served(settings: Settings, **env: str) -> Iterator[tuple[str, Settings]]:
    """`chirp serve` (tests/support/browser.py), unthrottled; its URL and its settings."""
    with chirp_serve(settings, **{**UNTHROTTLED, **env}) as url:
        yield url, settings.with_overrides(public_base_url=url)


class Watched:
    """A browser context whose requests may go only to `origins`, and its page's errors."""

    def __init__(self, context: BrowserContext, origins: set[str]) -> None:
        self.refused: list[str] = []
        self.errors: list[str] = []
        context.add_init_script(WATCH_CSP)
        context.route("**/*", self._route)
        self.origins = origins
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or origin_of(url) in self.origins:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()

    def assert_clean(self) -> None:
        assert self.refused == []
        assert self.errors == []
        assert self.page.evaluate("window.cspViolations") == []


def sign_up(page: Page, username: str) -> None:
    form = page.get_by_role("form", name="Sign up")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Email").fill(f"{username}@example.com")
    form.get_by_label("Display name").fill(username.split("_")[0].title())
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    signed_in(page)


def signed_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="Home")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("#live-status")).to_have_attribute("data-status", "live", timeout=STEP_MS)


def button(page: Page | Locator, name: str) -> Locator:
    return page.get_by_role("button", name=name, exact=True)


def search(page: Page, query: str, found: str) -> None:
    """Search from the Search page until `found` (a selector) shows: the index trails."""
    page.get_by_role("navigation").get_by_role("link", name="Search").click()
    page.get_by_role("searchbox", name="Search").fill(query)
    for _ in range(INDEX_WAIT_S):
        page.get_by_role("search").get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="Tweets")).to_be_visible(timeout=STEP_MS)
        if page.locator(found).count():
            return
        page.wait_for_timeout(1000)
    raise AssertionError(f"search for {query!r} did not find {found}")


def loaded_image(page: Page, selector: str) -> str:
    """Waits until the image has loaded (it has a width); its URL."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); return i?.complete && i.naturalWidth > 0 }",
        arg=selector,
        timeout=LIVE_WAIT_MS,
    )
    return str(page.locator(selector).get_attribute("src"))


def operators_manifest(tmp_path: Path) -> str:
    """A production server's trusted documents: one app's manifest, which knows nothing of
    the web client (the server trusts the documents of the client it serves itself)."""
    document = "query OtherApp { __typename }"
    digest = hashlib.sha256(document.encode()).hexdigest()
    path = tmp_path / "other-app.json"
    path.write_text(json.dumps({digest: document}))
    return str(path)


@pytest.mark.parametrize("profile", PROFILES)
def test_two_people_follow_post_an_image_and_see_it_live(profile: str, tmp_path: Path) -> None:
    """Trusted documents on, as in production: every request the client makes is one of
    app/web/documents.json, or this would fail with DOCUMENT_NOT_TRUSTED."""
    shots = f"web-client-{profile}"
    ada, bob = unique("ada"), unique("bob")
    trusted = {"CHIRP_TRUSTED_DOCUMENTS": operators_manifest(tmp_path)}
    with (
        served(web_settings(profile, tmp_path), **trusted) as (url, settings),
        chromium() as browser,
    ):
        media = media_origin(settings)
        a = Watched(browser.new_context(), {url, media})
        b = Watched(browser.new_context(), {url, media})
        for person, name in ((a, ada), (b, bob)):
            person.page.goto(url)
            expect(person.page.get_by_role("form", name="Sign up")).to_be_visible()
            if person is a:
                screenshot(a.page, f"{shots}-0-start-a")
            sign_up(person.page, name)
        screenshot(a.page, f"{shots}-1-signed-up-a")
        screenshot(b.page, f"{shots}-1-signed-up-b")

        # B finds A by people search and follows from A's profile.
        search(b.page, ada, f'.people a[href="#/u/{ada}"]')
        b.page.locator(f'.people a[href="#/u/{ada}"]').click()
        expect(b.page.get_by_role("heading", name=f"@{ada}")).to_be_visible(timeout=STEP_MS)
        button(b.page, "Follow").click()
        expect(button(b.page, "Unfollow")).to_be_visible(timeout=STEP_MS)
        expect(b.page.locator(".counts")).to_contain_text("1 follower")
        screenshot(b.page, f"{shots}-2-followed-b")

        # A hears of it live (the unread badge), and reads it.
        expect(a.page.locator("#unread")).to_have_text("1", timeout=LIVE_WAIT_MS)
        a.page.get_by_role("link", name="Notifications").click()
        follow = a.page.locator('.notification[data-kind="FOLLOW"]')
        expect(follow).to_contain_text(f"{bob} followed you", timeout=STEP_MS)
        expect(a.page.locator("#unread")).to_be_hidden(timeout=STEP_MS)
        screenshot(a.page, f"{shots}-3-notified-a")

        # B waits on the home timeline; A posts a tweet with an image.
        b.page.get_by_role("link", name="Home").click()
        expect(b.page.get_by_role("heading", name="Home")).to_be_visible(timeout=STEP_MS)
        b.page.evaluate("window.sameDocument = true")  # gone if the page reloads
        word = f"webclient{secrets.token_hex(4)}"
        text = f"Hello from the web client #{word}"
        a.page.get_by_role("link", name="Home").click()
        a.page.get_by_label("Tweet text").fill(text)
        a.page.get_by_label("Attach an image").set_input_files(
            {"name": "gradient.png", "mimeType": "image/png", "buffer": png(240, 120)}
        )
        button(a.page, "Post").click()
        posted = a.page.locator("article.tweet", has_text=text)
        expect(posted).to_be_visible(timeout=STEP_MS)
        assert origin_of(loaded_image(a.page, "article.tweet .media img")) == media
        screenshot(a.page, f"{shots}-4-posted-a")

        arrived = b.page.locator("article.tweet.live", has_text=text)
        expect(arrived).to_be_visible(timeout=LIVE_WAIT_MS)
        expect(arrived).to_contain_text(f"@{ada}")
        assert origin_of(loaded_image(b.page, "article.tweet.live .media img")) == media
        assert b.page.evaluate("window.sameDocument") is True
        screenshot(b.page, f"{shots}-5-arrived-live-b")
        screenshot(a.page, f"{shots}-5-arrived-live-a")

        # B finds the tweet by search; A watches the notifications while B unfollows: the
        # follow's notification is withdrawn, live. The unfollow holds after a reload.
        search(b.page, word, f'article.tweet[data-id="{posted.get_attribute("data-id")}"]')
        screenshot(b.page, f"{shots}-6-search-b")
        a.page.get_by_role("link", name="Notifications").click()
        expect(follow).to_be_visible(timeout=STEP_MS)
        b.page.goto(f"{url}/#/u/{ada}")
        button(b.page, "Unfollow").click()
        expect(button(b.page, "Follow")).to_be_visible(timeout=STEP_MS)
        expect(b.page.locator(".counts")).to_contain_text("0 followers")
        b.page.reload()
        expect(button(b.page, "Follow")).to_be_visible(timeout=STEP_MS)
        screenshot(b.page, f"{shots}-7-unfollowed-b")
        expect(follow).to_have_count(0, timeout=LIVE_WAIT_MS)
        screenshot(a.page, f"{shots}-7-unfollowed-a")

        # Logging out and in again.
        button(a.page, "Log out").click()
        form = a.page.get_by_role("form", name="Log in")
        form.get_by_label("Username or email").fill(ada)
        form.get_by_label("Password").fill(PASSWORD)
        button(form, "Log in").click()
        signed_in(a.page)
        expect(a.page.locator("article.tweet", has_text=text)).to_be_visible(timeout=STEP_MS)

        a.assert_clean()
        b.assert_clean()


@pytest.mark.parametrize("profile", PROFILES)
def test_tokens_are_refreshed_once_each_across_tabs(profile: str, tmp_path: Path) -> None:
    """Access tokens that live 2 s, so the client trades its refresh token before nearly
    every request. Each refresh token works once, and a second trade of one ends the whole
    session: two tabs of one browser (one localStorage) loading pages at the same moment
    must take turns, the second using the pair the first got, and both stay logged in."""
    ada = unique("ada")
    settings = web_settings(profile, tmp_path)
    with served(settings, CHIRP_ACCESS_TOKEN_TTL="2") as (url, _), chromium() as browser:
        context = browser.new_context()
        trades: list[str] = []
        context.on(
            "request", lambda r: "RefreshToken" in (r.post_data or "") and trades.append(r.url)
        )
        tabs = [context.new_page(), context.new_page()]
        tabs[0].goto(url)
        sign_up(tabs[0], ada)
        tabs[1].goto(url)
        signed_in(tabs[1])
        # The search page sends two requests together; the others need a viewer.
        for page, heading in ((f"search/{ada}", "Tweets"), ("notifications", "Notifications"),
                              ("home", "Home")):  # fmt: skip
            tabs[0].wait_for_timeout(2_500)  # both tabs' access token has expired
            for tab in tabs:  # at once
                tab.evaluate(f"location.hash = '#/{page}'")
            for tab in tabs:
                expect(tab.get_by_role("heading", name=heading)).to_be_visible(timeout=STEP_MS)
                expect(tab.locator("main .error:not(:empty)")).to_have_count(0)
        assert len(trades) >= 3
        for tab in tabs:
            tab.reload()  # still logged in: no trade was a replay
            signed_in(tab)
        screenshot(tabs[1], f"web-client-{profile}-refreshed")


def api(url: str, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx2.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    ).json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_video_is_embedded_from_the_media_store(profile: str, tmp_path: Path) -> None:
    """A tweet's video plays in the page (a <video>, not a link): the policy's media-src
    names the media store, so the browser fetches it from there (S3 on the engines, another
    origin) without a violation, by byte range as players do. The bytes are not a real film
    (no encoder here): what is checked is that the browser was allowed to fetch them, and got
    the range it asked for; the link to the file is beside the player."""
    ada = unique("ada")
    with served(web_settings(profile, tmp_path)) as (url, settings), chromium() as browser:
        media = media_origin(settings)
        person = {"username": ada, "email": f"{ada}@example.com", "password": PASSWORD}
        token = api(url, SIGN_UP, {"input": person})["signUp"]["accessToken"]
        film = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(4096)
        upload = api(url, UPLOAD, {"size": len(film)}, token)["createMediaUpload"]
        put = httpx2.put(upload["uploadUrl"], content=film, headers={"Content-Type": "video/mp4"})
        assert put.status_code in (200, 201, 204), put.text
        api(url, POST, {"input": {"text": "a film", "mediaIds": [upload["mediaId"]]}}, token)

        a = Watched(browser.new_context(), {url, media})
        fetched: list[tuple[str, int]] = []
        a.page.on("response", lambda r: fetched.append((r.url, r.status)))
        a.page.goto(url)
        form = a.page.get_by_role("form", name="Log in")
        form.get_by_label("Username or email").fill(ada)
        form.get_by_label("Password").fill(PASSWORD)
        button(form, "Log in").click()
        signed_in(a.page)
        video = a.page.locator("article.tweet", has_text="a film").locator(".media video")
        expect(video).to_have_attribute("controls", "", timeout=STEP_MS)
        source = str(video.get_attribute("src"))
        assert origin_of(source) == media
        a.page.wait_for_function(
            "s => document.querySelector(s)?.networkState !== HTMLMediaElement.NETWORK_LOADING",
            arg="article.tweet .media video",
            timeout=STEP_MS,
        )
        # The player asks for a byte range, and the store answers it (local media too).
        assert [status for at, status in fetched if at == source] == [206], fetched
        link = a.page.locator("article.tweet .media .video a.media-link")
        assert link.get_attribute("href") == source
        screenshot(a.page, f"web-client-{profile}-video")
        a.assert_clean()


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
@pytest.mark.parametrize("profile", PROFILES)
def test_page_names_every_file_by_its_integrity(
    profile: str, production: bool, tmp_path: Path
) -> None:
    """Served in production too: the client is a product page (GraphiQL is not)."""
    settings = web_settings(profile, tmp_path)
    if production:
        settings = settings.with_overrides(env="production")
    with running_app(settings) as client:
        page = client.http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        directives = (part.split() for part in page.headers["content-security-policy"].split(";"))
        policy = {name: sources for name, *sources in directives}
        assert policy["default-src"] == policy["script-src"] == policy["style-src"] == ["'self'"]
        media = media_origin(settings)
        assert policy["img-src"] == ["'self'", "data:", "blob:", media]
        assert policy["media-src"] == ["'self'", "blob:", media]  # video embedded, not linked
        assert policy["connect-src"] == ["'self'", media]  # the PUT of an upload

        tags = PageTags(page.text)
        assert tags.inline == []
        names = {urlsplit(url).path.rsplit("/", 1)[1] for url, _ in tags.files}
        assert names == (set(OWN_FILES) - {"icon.svg"}) | set(VENDOR_FILES)
        for url, integrity in tags.files:
            asset = client.http.get(url)
            assert asset.status_code == 200, url
            assert integrity == sri(asset.content), url
            assert asset.headers["x-content-type-options"] == "nosniff"
        assert client.http.get("/web/nothing.js").status_code == 404


def test_a_changed_module_does_not_run(tmp_path: Path) -> None:
    """An imported module is pinned too (by its modulepreload's integrity): changed on the
    way, the browser refuses it and the client does not start."""
    with served(web_settings("embedded", tmp_path)) as (url, _), chromium() as browser:
        context = browser.new_context()
        page = context.new_page()

        def changed(route: Route) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=response.text() + "\n// changed\n")

        def refused(message: ConsoleMessage) -> bool:
            return (
                message.type == "error" and "integrity" in message.text and "api.js" in message.text
            )

        context.route("**/web/api.js", changed)
        with page.expect_console_message(refused):
            page.goto(url)
        # app.js runs before the load event (modules are deferred scripts): it did not.
        page.wait_for_load_state("load")
        assert page.get_by_role("form", name="Sign up").count() == 0
