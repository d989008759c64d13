import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import clock
from tests.support.client import GraphQLClient, embedded_settings, running_app

pytest_plugins = ["tests.backends", "tests.threads"]

# Every query of the suite runs both ways, by graphql-core and by its compiled plan, and a
# difference fails the request (app/compiled.py); servers started as processes inherit it.
os.environ.setdefault("CHIRP_EXECUTION", "verify")

# The drills destroy the engines' data: only `make drill` (CHIRP_DRILLS=1) collects them.
collect_ignore = [] if os.environ.get("CHIRP_DRILLS") == "1" else ["drills"]


@pytest.fixture(autouse=True)
def _clock_back_to_now() -> Iterator[None]:
    """A test that moves the one clock (storage/clock.py) never leaks it into the next."""
    yield
    clock.reset()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[GraphQLClient]:
    """The whole app on the embedded default, in a fresh data folder."""
    with running_app(embedded_settings(tmp_path)) as graphql:
        yield graphql
