"""A pytest plugin: the test session fails when a non-daemon thread outlives it.

The interpreter waits for every non-daemon thread at exit, so one that nothing closed (an
aiosqlite connection, a driver's pool) makes `make test` hang after its last test. Each test
notes the threads it started and left running; at the end of the session any still alive
after a short grace are named with the test that started them, and the run fails.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

GRACE_S = 5.0
_started_by: dict[threading.Thread, str] = {}


def _live_threads() -> set[threading.Thread]:
    main = threading.main_thread()
    return {t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()}


@pytest.fixture(autouse=True)
def _note_threads_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    before = _live_threads()
    yield
    for thread in _live_threads() - before:
        _started_by.setdefault(thread, request.node.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftover = [t for t in _live_threads() if not _joined(t)]
    if not leftover:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for thread in leftover:
        started = _started_by.get(thread, "outside any test")
        line = f"thread {thread.name!r} still running at exit (started by {started})"
        if reporter is not None:
            reporter.write_line(line, red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _joined(thread: threading.Thread) -> bool:
    thread.join(GRACE_S)
    return not thread.is_alive()
