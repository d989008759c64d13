"""Cache contract, `scan`: every live key with the prefix comes back (at least once), keys
of other prefixes and deleted keys do not, and the cursor ends."""

from __future__ import annotations

from collections.abc import Callable

from storage.ports import Cache


async def _scan_all(cache: Cache, prefix: str, count: int) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    for _ in range(100_000):
        keys, cursor = await cache.scan(prefix, cursor, count)
        found += keys
        if cursor is None:
            return found
    raise AssertionError("the scan never ended")


async def test_scan_finds_each_live_key_with_the_prefix(
    cache: Cache, unique: Callable[[str], str]
) -> None:
    prefix = unique("scan") + ":"
    keys = [f"{prefix}{i}" for i in range(25)]
    await cache.set_many({key: b"x" for key in keys}, ttl_s=60)
    await cache.set_many({unique("other") + ":0": b"y"}, ttl_s=60)
    await cache.delete_many(keys[:5])
    found = await _scan_all(cache, prefix, count=7)
    assert set(found) == set(keys[5:])
    assert await _scan_all(cache, unique("none") + ":", count=7) == []
