"""Shared check: a port opened on an engine nobody listens for fails as Unavailable, quickly."""

from __future__ import annotations

import time

import pytest

from storage.errors import Unavailable
from storage.registry import Resources, open_port
from tests.storage.contract.conftest import SETTINGS


async def assert_unavailable_quickly(port: str, url: str, within_s: float) -> None:
    resources = Resources(SETTINGS)
    started = time.monotonic()
    try:
        with pytest.raises(Unavailable):
            await open_port(port, url, resources)
    finally:
        await resources.close()
    assert time.monotonic() - started < within_s
