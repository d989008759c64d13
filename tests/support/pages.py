"""What an HTML page of the app loads, read as a browser would find it in the markup."""

from __future__ import annotations

from html.parser import HTMLParser


class PageTags(HTMLParser):
    """The (url, integrity) of each script, stylesheet and preloaded module a page loads,
    and what a strict Content-Security-Policy would refuse: scripts with a body or without a
    source, style attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.files: list[tuple[str, str | None]] = []
        self.inline: list[str] = []
        self._script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found:
            self.inline.append(f"<{tag} style=...>")
        if tag == "script":
            self._script = True
            if found.get("src") is None:
                self.inline.append("<script> without src")
            else:
                self.files.append((str(found["src"]), found.get("integrity")))
        elif tag == "link" and found.get("rel") in ("stylesheet", "modulepreload"):
            self.files.append((str(found["href"]), found.get("integrity")))

    def handle_endtag(self, tag: str) -> None:
        self._script = self._script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.inline.append(data)
