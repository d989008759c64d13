from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.client import GraphQLClient, embedded_settings, running_app

pytest_plugins = ["tests.backends", "tests.threads"]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[GraphQLClient]:
    """The whole app on the embedded default, in a fresh data folder."""
    with running_app(embedded_settings(tmp_path)) as graphql:
        yield graphql
