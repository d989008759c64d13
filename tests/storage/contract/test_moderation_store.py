"""ModerationStore contract: one open report per reporter and target; the queue groups open
reports by target, ordered by their oldest and paged by position, whichever shard the owners
live on; resolving closes a target's open reports; the log keeps an action once, newest
first; a role is granted and revoked once.

The queue and the log are global (servers are shared), so each test follows only its own
fresh targets and actions, and reads the queue from just before its first report on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.ports import ModerationStore
from storage.records import (
    ModerationRecord,
    ReportGroup,
    ReportReason,
    ReportRecord,
    TargetKind,
    utcnow,
)
from storage.sharding import shard_of_id

MS = timedelta(milliseconds=1)
SECOND = timedelta(seconds=1)
Target = tuple[TargetKind, int, int]  # kind, id, owner


def _owners(new_id: Callable[[], int], count: int) -> list[int]:
    """Owner ids on logical shards of alternating parity: on two physical shards placed
    round robin, on both databases."""
    owners: list[int] = []
    while len(owners) < count:
        owner = new_id()
        if shard_of_id(owner) % 2 == len(owners) % 2:
            owners.append(owner)
    return owners


def _report(
    report_id: int,
    reporter_id: int,
    target: Target,
    at: datetime,
    reason: ReportReason = ReportReason.SPAM,
) -> ReportRecord:
    kind, target_id, owner_id = target
    return ReportRecord(
        id=report_id,
        reporter_id=reporter_id,
        target_kind=kind,
        target_id=target_id,
        owner_id=owner_id,
        reason=reason,
        comment=f"report {report_id}",
        created_at=at,
    )


async def _queue(
    store: ModerationStore, ours: list[Target], since: datetime, limit: int
) -> list[ReportGroup]:
    """Our targets' groups in queue order, paging from just before `since` until each of them
    was seen (or the queue ends); every page is checked for order and size on the way."""
    wanted = {(kind, target_id) for kind, target_id, _ in ours}
    found: list[ReportGroup] = []
    after: tuple[datetime, str, int] = (since - MS, TargetKind.TWEET.value, 0)
    while len(found) < len(wanted):
        page = await store.open_groups(limit, after)
        if not page:
            break
        positions = [group.position for group in page]
        assert len(page) <= limit
        assert positions == sorted(positions) and positions[0] > after
        found += [group for group in page if (group.target_kind, group.target_id) in wanted]
        after = positions[-1]
    return found


async def test_a_reporter_has_one_open_report_per_target(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    tweet: Target = (TargetKind.TWEET, new_id(), new_id())
    other: Target = (TargetKind.USER, new_id(), new_id())
    at = utcnow()
    first = _report(new_id(), alice, tweet, at)
    assert await moderation_store.add_report(first) is True
    assert await moderation_store.add_report(first) is False  # a retry
    again = _report(new_id(), alice, tweet, at + SECOND, ReportReason.ABUSE)
    assert await moderation_store.add_report(again) is False
    assert await moderation_store.open_reports(*tweet, 10) == [first]  # nothing stored
    second = _report(new_id(), bob, tweet, at + SECOND)
    assert await moderation_store.add_report(second) is True
    assert await moderation_store.add_report(_report(new_id(), alice, other, at)) is True
    assert await moderation_store.open_reports(*tweet, 10) == [first, second]
    assert await moderation_store.resolve(*tweet, "dismiss", at + 2 * SECOND) == 2
    assert await moderation_store.add_report(again) is True  # a new report once resolved
    assert await moderation_store.open_reports(*tweet, 10) == [again]
    await moderation_store.resolve(*tweet, "dismiss", utcnow())
    await moderation_store.resolve(*other, "dismiss", utcnow())


async def test_concurrent_reports_of_one_reporter_store_one(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    reporter, account = new_id(), new_id()
    target: Target = (TargetKind.USER, account, account)  # an account is its own owner
    reports = [_report(new_id(), reporter, target, utcnow()) for _ in range(10)]
    added = await asyncio.gather(*(moderation_store.add_report(r) for r in reports))
    assert added.count(True) == 1
    assert len(await moderation_store.open_reports(*target, 10)) == 1
    assert await moderation_store.resolve(*target, "dismiss", utcnow()) == 1


async def test_a_group_counts_its_open_reports_and_orders_its_reasons(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    target: Target = (TargetKind.TWEET, new_id(), new_id())
    start = utcnow() - 10 * SECOND
    reasons = [
        ReportReason.OTHER,
        ReportReason.SPAM,
        ReportReason.ABUSE,
        ReportReason.SPAM,
        ReportReason.ILLEGAL,
        ReportReason.ILLEGAL,
        ReportReason.SPAM,
    ]
    for n, reason in enumerate(reasons):
        await moderation_store.add_report(
            _report(new_id(), new_id(), target, start + n * SECOND, reason)
        )
    [group] = await _queue(moderation_store, [target], start, 50)
    assert group == ReportGroup(
        target_kind=TargetKind.TWEET,
        target_id=target[1],
        owner_id=target[2],
        open_reports=7,
        # Most reported first, then by name: abuse before other.
        reasons=(
            (ReportReason.SPAM, 3),
            (ReportReason.ILLEGAL, 2),
            (ReportReason.ABUSE, 1),
            (ReportReason.OTHER, 1),
        ),
        first_at=start,
        last_at=start + 6 * SECOND,
    )
    assert group.position == (start, "tweet", target[1])
    await moderation_store.resolve(*target, "remove_tweet", utcnow())
    assert await _queue(moderation_store, [target], start, 50) == []


async def test_the_queue_is_ordered_by_oldest_report_then_kind_then_id_across_owners(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    owners = _owners(new_id, 8)
    start = utcnow() - 20 * SECOND
    low, high = sorted((new_id(), new_id()))
    # (target, seconds after start of its reports); ties on the oldest report are broken by
    # kind ("tweet" < "user"), then by id.
    plan: list[tuple[Target, list[int]]] = [
        ((TargetKind.USER, owners[0], owners[0]), [5, 1]),
        ((TargetKind.TWEET, new_id(), owners[1]), [3]),
        ((TargetKind.TWEET, high, owners[2]), [1, 9]),
        ((TargetKind.TWEET, low, owners[3]), [1]),
        ((TargetKind.USER, owners[4], owners[4]), [0, 0, 2]),
        ((TargetKind.TWEET, new_id(), owners[5]), [7, 8]),
        ((TargetKind.USER, owners[6], owners[6]), [4]),
        ((TargetKind.TWEET, new_id(), owners[7]), [6]),
    ]
    for target, seconds in plan:
        for second in seconds:
            report = _report(new_id(), new_id(), target, start + second * SECOND)
            assert await moderation_store.add_report(report) is True
    expected = sorted(
        (
            (start + min(seconds) * SECOND, target[0].value, target[1]),
            len(seconds),
            start + max(seconds) * SECOND,
            target[2],
        )
        for target, seconds in plan
    )
    ours = [target for target, _ in plan]
    for limit in (1, 2, 3, 50):
        found = await _queue(moderation_store, ours, start, limit)
        assert [
            (group.position, group.open_reports, group.last_at, group.owner_id) for group in found
        ] == expected, limit
    first_page = await moderation_store.open_groups(3)
    assert len(first_page) <= 3
    assert [g.position for g in first_page] == sorted(g.position for g in first_page)
    for target in ours:
        await moderation_store.resolve(*target, "dismiss", utcnow())
    assert await _queue(moderation_store, ours, start, 50) == []


async def test_open_reports_are_oldest_first(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    target: Target = (TargetKind.TWEET, new_id(), new_id())
    start = utcnow() - 10 * SECOND
    reports = [_report(new_id(), new_id(), target, start + n * SECOND) for n in range(5)]
    for report in (reports[3], reports[0], reports[4], reports[1], reports[2]):
        await moderation_store.add_report(report)
    assert await moderation_store.open_reports(*target, 10) == reports
    assert await moderation_store.open_reports(*target, 2) == reports[:2]
    assert await moderation_store.open_reports(*target, 0) == []
    assert await moderation_store.open_reports(TargetKind.USER, target[1], target[2], 10) == []
    await moderation_store.resolve(*target, "dismiss", utcnow())


async def test_resolve_closes_only_that_targets_open_reports(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    owner = new_id()
    tweet: Target = (TargetKind.TWEET, new_id(), owner)
    account: Target = (TargetKind.USER, owner, owner)  # the same owner, another target
    start = utcnow() - 10 * SECOND
    for n in range(3):
        await moderation_store.add_report(_report(new_id(), new_id(), tweet, start + n * SECOND))
    kept = _report(new_id(), new_id(), account, start + SECOND)
    await moderation_store.add_report(kept)
    assert await moderation_store.resolve(*tweet, "remove_tweet", start + 5 * SECOND) == 3
    assert await moderation_store.resolve(*tweet, "remove_tweet", start + 6 * SECOND) == 0
    assert await moderation_store.open_reports(*tweet, 10) == []
    assert await moderation_store.open_reports(*account, 10) == [kept]
    [group] = await _queue(moderation_store, [tweet, account], start, 50)
    assert (group.target_kind, group.target_id, group.open_reports) == (
        TargetKind.USER,
        owner,
        1,
    )
    # A new report of the resolved target opens a group of its own reports only.
    late = _report(new_id(), new_id(), tweet, start + 7 * SECOND, ReportReason.ABUSE)
    await moderation_store.add_report(late)
    found = await _queue(moderation_store, [tweet, account], start, 50)
    assert [(g.target_id, g.open_reports, g.reasons, g.first_at) for g in found] == [
        (owner, 1, ((ReportReason.SPAM, 1),), start + SECOND),
        (tweet[1], 1, ((ReportReason.ABUSE, 1),), late.created_at),
    ]
    assert await moderation_store.resolve(*account, "suspend", utcnow()) == 1
    assert await moderation_store.resolve(*tweet, "dismiss", utcnow()) == 1


async def test_record_keeps_an_action_once_and_the_log_is_newest_first(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    owners = _owners(new_id, 6)
    at = utcnow()
    actions = [
        ModerationRecord(
            id=new_id(),
            moderator_id=new_id(),
            action="suspend" if n % 2 else "remove_tweet",
            target_kind=TargetKind.USER if n % 2 else TargetKind.TWEET,
            target_id=owner if n % 2 else new_id(),
            owner_id=owner,
            note=f"action {n}",
            created_at=at + n * MS,
            until=at + timedelta(days=7) if n % 2 else None,
        )
        for n, owner in enumerate(owners)
    ]
    for action in actions:
        await moderation_store.record(action)
    await moderation_store.record(actions[2])  # a retry
    newest_first = actions[::-1]
    ours = {action.id for action in actions}
    for limit in (1, 2, 4, 50):
        found: list[ModerationRecord] = []
        before = actions[-1].id + 1
        while len(found) < len(actions):
            page = await moderation_store.actions_page(limit, before)
            if not page:
                break
            assert len(page) <= limit
            assert [a.id for a in page] == sorted((a.id for a in page), reverse=True)
            assert page[0].id < before
            found += [action for action in page if action.id in ours]
            before = page[-1].id
        assert found == newest_first, limit
    latest = await moderation_store.actions_page(3)
    assert len(latest) <= 3
    assert [a.id for a in latest] == sorted((a.id for a in latest), reverse=True)
    assert await moderation_store.actions_page(0) == []


async def test_roles_are_granted_and_revoked_once(
    moderation_store: ModerationStore, new_id: Callable[[], int]
) -> None:
    alice, bob = new_id(), new_id()
    assert await moderation_store.roles(alice) == frozenset()
    assert await moderation_store.grant(alice, "moderator", utcnow()) is True
    assert await moderation_store.grant(alice, "moderator", utcnow()) is False
    assert await moderation_store.grant(alice, "admin", utcnow()) is True
    assert await moderation_store.roles(alice) == {"moderator", "admin"}
    assert await moderation_store.roles(bob) == frozenset()
    assert await moderation_store.revoke(alice, "moderator") is True
    assert await moderation_store.revoke(alice, "moderator") is False
    assert await moderation_store.revoke(bob, "moderator") is False
    assert await moderation_store.roles(alice) == {"admin"}
    granted = await asyncio.gather(
        *(moderation_store.grant(bob, "moderator", utcnow()) for _ in range(10))
    )
    assert granted.count(True) == 1
    assert await moderation_store.roles(bob) == {"moderator"}
