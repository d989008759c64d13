"""Backend tests and their engines (a pytest plugin, loaded from tests/conftest.py).

A test that needs a real engine calls `backend_url("CHIRP_USERS_URL")`: it gets the URL
that `eval "$(scripts/services env)"` exported, or is skipped saying what to set. Under
CI=true a missing engine is a failure, and so is any skipped test at all.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def backend_url(env_name: str) -> str:
    url = os.environ.get(env_name, "").strip()
    if url:
        return url
    message = f'set {env_name} (eval "$(scripts/services env)") to run this backend test'
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not in_ci():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if in_ci() and skipped:
        terminalreporter.write_line(
            f"CI=true: {len(skipped)} skipped test(s) count as failures", red=True, bold=True
        )
