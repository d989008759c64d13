"""The browser files Chirp serves itself, so its pages load nothing from another origin.

Third-party files (GraphiQL, React, graphql-ws) come from npm, pinned in
web/package-lock.json; `make install` runs `npm ci` in web/ and then `python -m app.assets`,
which copies the files named in VENDOR into app/static/vendor. A `Bundle` serves a folder's
files from memory under a URL that carries their digest (so they can be cached for good) and
gives each its subresource-integrity hash, so a page names the exact bytes it runs."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC / "vendor"
NODE_MODULES = Path(__file__).resolve().parents[1] / "web" / "node_modules"

# The name each file is served as, and where npm puts it under web/node_modules.
VENDOR: Mapping[str, str] = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
    "graphql-ws.min.js": "graphql-ws/umd/graphql-ws.min.js",
}
MISSING_HINT = "run `make install` (it needs npm) to install the browser files"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    digest: str  # hex sha256, for the URL
    integrity: str  # "sha384-…", for the page's `integrity` attribute


class MissingAssets(LookupError):
    """A page needs files that are not installed."""


class Bundle:
    """The files of one folder, read once, served at `{prefix}/{name}?v={digest}`."""

    def __init__(self, folder: Path, prefix: str, names: Iterable[str]) -> None:
        self.prefix = prefix.rstrip("/")
        self._assets: dict[str, Asset] = {}
        self.missing: list[str] = []
        for name in names:
            path = folder / name
            if not path.is_file():
                self.missing.append(name)
                continue
            body = path.read_bytes()
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            sha384 = base64.b64encode(hashlib.sha384(body).digest()).decode()
            self._assets[name] = Asset(
                body, media_type, hashlib.sha256(body).hexdigest()[:16], f"sha384-{sha384}"
            )

    def url(self, name: str) -> str:
        return f"{self.prefix}/{name}?v={self._asset(name).digest}"

    def integrity(self, name: str) -> str:
        return self._asset(name).integrity

    def script(self, name: str) -> str:
        return f'<script src="{self.url(name)}" integrity="{self.integrity(name)}"></script>'

    def stylesheet(self, name: str) -> str:
        return f'<link rel="stylesheet" href="{self.url(name)}" integrity="{self.integrity(name)}">'

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{self.prefix}/{{name:path}}", self._serve, methods=["GET", "HEAD"])]

    def _asset(self, name: str) -> Asset:
        if name not in self._assets:
            raise MissingAssets(f"{name} is not installed: {MISSING_HINT}")
        return self._assets[name]

    async def _serve(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["name"])
        if asset is None:
            return PlainTextResponse("Not found", status_code=404)
        headers = {"X-Content-Type-Options": "nosniff"}
        if request.query_params.get("v") == asset.digest:
            headers["Cache-Control"] = IMMUTABLE
        else:  # an old or missing digest: serve the current bytes, but do not pin them
            headers["Cache-Control"] = "no-cache"
        return Response(asset.body, media_type=asset.media_type, headers=headers)


def vendor_bundle() -> Bundle:
    return Bundle(VENDOR_DIR, "/static/vendor", VENDOR)


def content_security_policy(*, media: Iterable[str] = (), connect: Iterable[str] = ()) -> str:
    """A policy that lets a page load and talk only to its own origin, plus the origins given:
    `media` for images and video (a media store on another host, for instance), `connect`
    for what scripts send requests to."""
    media = list(media)
    img = " ".join(["'self'", "data:", "blob:", *media])
    video = " ".join(["'self'", "blob:", *media])
    conn = " ".join(["'self'", *connect])
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; "
        f"img-src {img}; "
        f"media-src {video}; "
        "font-src 'self' data:; "
        f"connect-src {conn}; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


NOT_INSTALLED = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{what} is not installed</title></head>
<body>
<h1>{what}: the browser files are not installed</h1>
<p>{message}; then restart <code>chirp serve</code>.</p>
<p>The GraphQL API itself works: POST queries to <code>/graphql</code>.</p>
</body>
</html>
"""


def page_response(page: str | MissingAssets, what: str, policy: str) -> HTMLResponse:
    """A page of ours, or (its files missing) a 503 page saying how to install them; with
    `policy` and headers that keep it from being sniffed, referred or kept stale (it names
    its files by digest, so a cached copy would ask for files no longer served)."""
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    if isinstance(page, MissingAssets):
        body = NOT_INSTALLED.format(what=escape(what), message=escape(str(page)))
        return HTMLResponse(body, status_code=503, headers=headers)
    return HTMLResponse(page, headers=headers)


def install(source: Path = NODE_MODULES, target: Path = VENDOR_DIR) -> list[Path]:
    """Copy VENDOR's files from web/node_modules into app/static/vendor."""
    missing = [relative for relative in VENDOR.values() if not (source / relative).is_file()]
    if missing:
        raise MissingAssets(
            f"not in {source}: {', '.join(missing)}; run `npm ci` in web/ (make install does)"
        )
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, relative in VENDOR.items():
        shutil.copyfile(source / relative, target / name)
        copied.append(target / name)
    return copied


if __name__ == "__main__":
    try:
        files = install()
    except MissingAssets as error:
        sys.exit(f"app.assets: {error}")
    print(f"app.assets: {len(files)} browser files in {VENDOR_DIR}")
