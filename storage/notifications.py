"""How a change to one recipient's notifications of one base key folds into its groups:
the one rule every NotificationStore adapter applies, so the engines cannot drift apart.

An adapter reads the base's state (its newest group, the claims of the change's actors and
the groups they name), folds the change in here, and writes what `Folded` says in one
atomic step of its engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from storage.ports import Position
from storage.records import GROUPED_KINDS, SAMPLE_ACTORS, NotificationChange, NotificationGroup

Claim = tuple[int, datetime]  # (group id, when the actor joined it)


@dataclass(frozen=True)
class BaseState:
    newest: int | None  # the base's newest group: the one an added actor may join
    claims: Mapping[int, Claim]  # actor -> claim, for (at least) the change's actors
    groups: Mapping[int, NotificationGroup]  # the newest group and those the claims name


@dataclass
class Folded:
    claimed: dict[int, Claim] = field(default_factory=dict)  # new claims, by actor
    unclaimed: list[int] = field(default_factory=list)  # actors whose claims go
    groups: dict[int, NotificationGroup] = field(default_factory=dict)  # changed, as now
    newest: int | None = None
    # Groups whose sample lost an actor while they have more members than it shows: the
    # adapter refills them (`refilled`) from their remaining claims before writing.
    short: set[int] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.claimed or self.unclaimed or self.groups)


def is_read(group: NotificationGroup, marker: Position | None) -> bool:
    return marker is not None and group.position <= marker


def fold(
    state: BaseState,
    change: NotificationChange,
    marker: Position | None,
    window: timedelta,
    new_id: Callable[[], int],
) -> Folded:
    folded = Folded(newest=state.newest)
    groups = dict(state.groups)
    for actor in dict.fromkeys(change.removed):
        claim = state.claims.get(actor)
        if claim is None:
            continue
        folded.unclaimed.append(actor)
        group = groups.get(claim[0])
        if group is None or group.count == 0:
            continue
        sample = tuple(member for member in group.sample if member[0] != actor)
        group = replace(group, count=group.count - 1, sample=sample)
        if group.count > len(sample) < SAMPLE_ACTORS:
            folded.short.add(group.id)
        groups[group.id] = folded.groups[group.id] = group
    for actor, at in sorted(change.added, key=lambda added: added[1]):
        if actor in state.claims or actor in folded.claimed or actor in change.removed:
            continue
        joined = groups.get(folded.newest) if folded.newest is not None else None
        if joined is not None and _open(joined, change.kind, marker, window, at):
            group = _with_member(joined, actor, at)
        else:
            group = NotificationGroup(
                id=new_id(),
                recipient_id=change.recipient_id,
                base_key=change.base_key,
                kind=change.kind,
                subject_id=change.subject_id,
                count=1,
                sample=((actor, at),),
                latest_at=at,
            )
            folded.newest = group.id
        folded.claimed[actor] = (group.id, at)
        groups[group.id] = folded.groups[group.id] = group
    folded.short = {gid for gid in folded.short if folded.groups[gid].count > 0}
    return folded


def _open(
    group: NotificationGroup, kind: str, marker: Position | None, window: timedelta, at: datetime
) -> bool:
    """Whether an actor arriving at `at` joins this group rather than starting one."""
    return (
        kind in GROUPED_KINDS
        and group.count > 0
        and not is_read(group, marker)
        and at - group.latest_at <= window
    )


def _with_member(group: NotificationGroup, actor: int, at: datetime) -> NotificationGroup:
    sample = newest_first([*group.sample, (actor, at)])
    return replace(group, count=group.count + 1, sample=sample, latest_at=max(group.latest_at, at))


def newest_first(members: Iterable[tuple[int, datetime]]) -> tuple[tuple[int, datetime], ...]:
    """The newest SAMPLE_ACTORS members, newest first (ties: the higher actor id)."""
    ordered = sorted(members, key=lambda member: (member[1], member[0]), reverse=True)
    return tuple(ordered[:SAMPLE_ACTORS])


def refilled(
    group: NotificationGroup, members: Iterable[tuple[int, datetime]]
) -> NotificationGroup:
    """The group with its sample taken again from its remaining members."""
    return replace(group, sample=newest_first(members))


def after(position: Position, marker: Position | None) -> bool:
    return marker is None or position > marker
