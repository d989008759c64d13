"""LifecycleStore contract, `cancel_counting`: the entry goes and the owner's counter moves
in one step, exactly once however often it is called."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage.records import LifecycleEntry, LifecycleKind, UserRecord, utcnow
from storage.registry import Resources
from tests.storage.contract.conftest import engines, open_on


@pytest.fixture(params=engines("lifecycle"))
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path, resources: Resources
) -> tuple[Any, Any]:
    users, lifecycle = await open_on(request.param, ["users", "lifecycle"], tmp_path, resources)
    return users, lifecycle


async def test_cancel_counting_counts_once_and_only_with_an_entry(
    stores: tuple[Any, Any], new_id: Callable[[], int], unique: Callable[[str], str]
) -> None:
    users, lifecycle = stores
    name, now = unique("c"), utcnow()
    owner = UserRecord(
        id=new_id(),
        username=name,
        email=f"{name}@example.com",
        password_hash="h",
        display_name=name,
        created_at=now,
        updated_at=now,
    )
    await users.create(owner)
    await users.add_to_stats(owner.id, {"following_count": 3, "likes_count": 2})
    subject = new_id()
    kind = LifecycleKind.FOLLOWING_DOWN
    await lifecycle.schedule(LifecycleEntry(kind, subject, owner.id, now, now))
    assert [
        e.subject_id for e in await lifecycle.due(kind, now, 1000) if e.owner_id == owner.id
    ] == [subject]
    assert await lifecycle.cancel_counting(kind, owner.id, subject, {"following_count": -1})
    assert not await lifecycle.cancel_counting(kind, owner.id, subject, {"following_count": -1})
    other = LifecycleKind.LIKES_DOWN  # no entry of this kind: nothing moves
    assert not await lifecycle.cancel_counting(other, owner.id, subject, {"likes_count": -1})
    [stats] = await users.get_stats_many([owner.id])
    assert (stats.following_count, stats.likes_count) == (2, 2)
    assert await lifecycle.get(kind, owner.id, subject) is None
    with pytest.raises(ValueError):
        await lifecycle.cancel_counting(kind, owner.id, subject, {"nonsense": 1})
