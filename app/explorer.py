"""Chirp's GraphiQL page at GET /graphql (not in production): GraphiQL, React and the explorer
plugin from app/static/vendor (npm, pinned in web/package-lock.json), our start-up script and
styles from app/static/graphiql, every file named by its digest and integrity hash. The page
loads nothing from another origin and runs no inline script, so it works offline and under a
Content-Security-Policy that allows only the app itself."""

from __future__ import annotations

import functools

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from app.assets import (
    STATIC,
    Bundle,
    MissingAssets,
    content_security_policy,
    page_response,
    vendor_bundle,
)

OWN_FILES = ("boot.js", "page.css", "icon.svg")
STYLESHEETS = (
    ("vendor", "graphiql.min.css"),
    ("vendor", "plugin-explorer.css"),
    ("own", "page.css"),
)
# In this order: each UMD file reads the globals the ones before it set.
SCRIPTS = (
    ("vendor", "react.production.min.js"),
    ("vendor", "react-dom.production.min.js"),
    ("vendor", "graphiql.min.js"),
    ("vendor", "plugin-explorer.umd.js"),
    ("own", "boot.js"),
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chirp GraphiQL</title>
<link rel="icon" href="{icon}">
{stylesheets}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
{scripts}
</body>
</html>
"""


class Explorer:
    """The GraphiQL page and the routes of the files it loads."""

    def __init__(self, vendor: Bundle, own: Bundle) -> None:
        self._bundles = {"vendor": vendor, "own": own}
        self._page = self._render()

    def routes(self) -> list[BaseRoute]:
        return [route for bundle in self._bundles.values() for route in bundle.routes()]

    def response(self) -> HTMLResponse:
        return page_response(self._page, "Chirp GraphiQL", content_security_policy())

    def _render(self) -> str | MissingAssets:
        try:
            return PAGE.format(
                icon=self._bundles["own"].url("icon.svg"),
                stylesheets="\n".join(self._bundles[b].stylesheet(n) for b, n in STYLESHEETS),
                scripts="\n".join(self._bundles[b].script(n) for b, n in SCRIPTS),
            )
        except MissingAssets as missing:
            return missing


@functools.cache
def explorer() -> Explorer:
    """The page over the installed files, read once per process (restart after `make install`)."""
    return Explorer(vendor_bundle(), Bundle(STATIC / "graphiql", "/static/graphiql", OWN_FILES))
