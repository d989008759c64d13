"""A real headless browser against `chirp serve`: Debian's chromium driven by Playwright (its
own browser download cannot reach the network here, so it launches the system one).

Without chromium the test is skipped on a newcomer's machine and fails under CI=true. Every
request the page makes to another origin is refused and recorded, so a test can assert that a
page works offline. Screenshots go to artifacts/ (ignored by git), kept as CI artifacts."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from app.settings import Settings
from tests.backends import in_ci
from tests.support.cli import chirp_command, chirp_env, run_chirp
from tests.support.server import free_port, wait_healthy

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "install Debian's chromium (apt-get install chromium) to run the browser tests"
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Browser]:
    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def same_origin_only(context: BrowserContext, origin: str) -> list[str]:
    """Refuse every request a page in `context` makes outside `origin` (and the data: and
    blob: URLs a page makes itself); the list of what was refused."""
    refused: list[str] = []

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith((origin, "data:", "blob:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    context.route("**/*", route)
    return refused


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def chirp_serve(settings: Settings, **extra: str) -> Iterator[str]:
    """`chirp migrate`, then `chirp serve` on a free loopback port with `settings`' stores
    and its in-process job workers (its output in the data folder's serve.log); its base
    URL, which is also its public base URL (local media's signed URLs name it). On a shared
    Redis its jobs get a queue of their own, so no other test's server runs them."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.with_overrides(public_base_url=url)
    if settings.cache_url.startswith("redis") and not settings.queue_url:
        queue = f"{settings.cache_url}?prefix=serve-{secrets.token_hex(4)}"
        extra = {"CHIRP_QUEUE_URL": queue} | extra
    migrated = run_chirp(settings, "migrate", **extra)
    assert migrated.returncode == 0, migrated.stderr
    with (settings.data_dir / "serve.log").open("ab") as log:
        process: subprocess.Popen[Any] = subprocess.Popen(
            chirp_command("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=chirp_env(settings, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy([url], [process])
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
