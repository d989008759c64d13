"""Chirp's web client at `/`: plain HTML, CSS and JavaScript modules checked in under app/web,
with graphql-ws from npm (app/static/vendor) for the live timeline. No build step.

Every script and stylesheet the page loads is pinned by its integrity hash: the stylesheet
and graphql-ws by a digest URL with `integrity`, the JavaScript modules by `<link
rel="modulepreload" integrity=...>` (an `import "./api.js"` cannot name a digest, and the
browser checks a module it preloaded when the import asks for it). The page runs no inline
script, under a Content-Security-Policy that allows the app's own origin, plus the media
store's when its signed URLs point elsewhere (an S3 endpoint): the page shows images and
plays video from it, and uploads to it.

The client is a product page, not a developer tool, so it is served in production too
(unlike GraphiQL). It serves its own copy of graphql-ws under /web/vendor/, since the
GraphiQL routes that serve the vendor folder are off in production."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.assets import (
    VENDOR_DIR,
    Bundle,
    MissingAssets,
    content_security_policy,
    page_response,
)

WEB = Path(__file__).resolve().parent / "web"
ENTRY = "app.js"
# app.js and every module it imports: one not listed is not served (a 404, not unpinned code).
MODULES = ("api.js", "operations.js", "dom.js", "live.js", "media.js", ENTRY)
OWN_FILES = (*MODULES, "style.css", "icon.svg")
VENDOR_FILES = ("graphql-ws.min.js",)
# Where index.html takes the tags of the files the page loads.
ASSETS_MARKER = "<!-- assets -->"
# A key the media store signs URLs for but never stores: where its URLs point.
PROBE_KEY = "media/0/web-client-probe.png"


@functools.cache
def bundles() -> tuple[Bundle, Bundle]:
    """The client's own files and graphql-ws, read once per process (restart after editing)."""
    return Bundle(WEB, "/web", OWN_FILES), Bundle(VENDOR_DIR, "/web/vendor", VENDOR_FILES)


@functools.cache
def page_html() -> str | MissingAssets:
    try:
        return render(*bundles())
    except MissingAssets as missing:
        return missing


def render(own: Bundle, vendor: Bundle) -> str:
    """index.html with the tags of every file it loads, each with its integrity hash."""
    graphql_ws = VENDOR_FILES[0]
    preloads = [
        f'<link rel="modulepreload" href="{own.prefix}/{name}" integrity="{own.integrity(name)}">'
        for name in MODULES
        if name != ENTRY
    ]
    tags = [
        f'<link rel="icon" href="{own.url("icon.svg")}" type="image/svg+xml">',
        own.stylesheet("style.css"),
        # Deferred, so it runs after parsing and before the modules (deferred too).
        f'<script defer src="{vendor.url(graphql_ws)}" integrity="{vendor.integrity(graphql_ws)}">'
        "</script>",
        *preloads,
        f'<script type="module" src="{own.prefix}/{ENTRY}" integrity="{own.integrity(ENTRY)}">'
        "</script>",
    ]
    template = (WEB / "index.html").read_text()
    return template.replace(ASSETS_MARKER, "\n".join(tags))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class WebClient:
    """The page at `/` and the routes of its files, for one app (its media store decides
    which origin the policy adds)."""

    def __init__(self) -> None:
        self._policy: str | None = None

    def routes(self) -> list[BaseRoute]:
        own, vendor = bundles()
        # The vendor prefix is the longer one: it goes first so /web/{name} does not take it.
        return [Route("/", self.page, methods=["GET"]), *vendor.routes(), *own.routes()]

    async def page(self, request: Request) -> Response:
        policy = await self._content_security_policy(request)
        return page_response(page_html(), "Chirp's web client", policy)

    async def _content_security_policy(self, request: Request) -> str:
        if self._policy is None:
            media = request.app.state.stores.media
            upload = await media.upload_url(PROBE_KEY, "image/png", 1, 60)
            download = await media.download_url(PROBE_KEY, 60)
            self._policy = content_security_policy(
                media=sorted({origin_of(download)}), connect=sorted({origin_of(upload)})
            )
        return self._policy
