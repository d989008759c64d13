"""Notifications: their base keys, their live channel and wire format, and what a reader is
shown of a stored group. The jobs that write them are in app/jobs/notify.py.

A base key names what a notification is about, so an actor counts once per base key:
`like:{tweet}`, `retweet:{tweet}` and `follow` group their actors (the tweet, or the
recipient, is the target); `mention:{tweet}`, `reply:{tweet}` and `quote:{tweet}` name the
tweet that caused them; `follow_request:{actor}` and `follow_request_approved:{actor}`
name the other account.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace

from app.policy import Policy
from storage.ports import EventBus
from storage.records import NotificationGroup, UserRecord, ms_from_utc, utc_from_ms

UNREAD_CAP = 1_000  # unread counts stop here (a client shows "999+")

# When a tweet both replies to and mentions someone (or quotes and mentions them), they
# hear of it once, as the first of these that applies.
TWEET_KINDS = ("reply", "quote", "mention")


def base_key(kind: str, *, tweet_id: int | None = None, actor_id: int | None = None) -> str:
    if kind == "follow":
        return "follow"
    if kind in ("follow_request", "follow_request_approved"):
        return f"{kind}:{actor_id}"
    return f"{kind}:{tweet_id}"


def channel(user_id: int) -> str:
    return f"notifications:{user_id}"


def encode(group: NotificationGroup) -> bytes:
    return json.dumps(
        {
            "id": group.id,
            "recipient": group.recipient_id,
            "base": group.base_key,
            "kind": group.kind,
            "subject": group.subject_id,
            "count": group.count,
            "sample": [[actor, ms_from_utc(at)] for actor, at in group.sample],
            "latest": ms_from_utc(group.latest_at),
        }
    ).encode()


def decode(data: bytes) -> NotificationGroup:
    message = json.loads(data)
    return NotificationGroup(
        id=int(message["id"]),
        recipient_id=int(message["recipient"]),
        base_key=str(message["base"]),
        kind=str(message["kind"]),
        subject_id=message["subject"],
        count=int(message["count"]),
        sample=tuple((int(actor), utc_from_ms(int(ms))) for actor, ms in message["sample"]),
        latest_at=utc_from_ms(int(message["latest"])),
    )


async def publish(events: EventBus, groups: Sequence[NotificationGroup]) -> None:
    """Tell each group's recipient's live subscriptions (count 0: the group is gone)."""
    await events.publish_many([(channel(group.recipient_id), encode(group)) for group in groups])


def shown(
    group: NotificationGroup, policy: Policy, actors: Iterable[UserRecord | None]
) -> NotificationGroup | None:
    """The group as the reader sees it now: sampled actors they may no longer see (blocked
    either way, muted, suspended, gone) are left out and not counted; a group with no actor
    left to show is not shown at all. `actors` are the sample's users, in order."""
    hidden = {
        actor
        for (actor, _), user in zip(group.sample, actors, strict=True)
        if user is None or not policy.sees_account(user) or actor in policy.relations.muting
    }
    if not hidden:
        return group
    sample = tuple(member for member in group.sample if member[0] not in hidden)
    if not sample:
        return None
    return replace(group, sample=sample, count=group.count - len(hidden))
