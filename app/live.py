"""Live timeline events: the one owner of their channel names and their wire format.

Fan-out publishes, the subscription resolver listens; both go through this module, so the
payload and the channels cannot drift apart. A channel is either a reader's home timeline
(`home:{user_id}`) or a celebrity author's own tweets (`author:{user_id}`), which followers
of that author subscribe to because celebrities are not fanned out.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.ports import EventBus


class LiveEventType(enum.Enum):
    ADDED = "ADDED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    type: LiveEventType
    tweet_id: int

    def encode(self) -> bytes:
        return json.dumps({"type": self.type.value, "tweetId": self.tweet_id}).encode()

    @classmethod
    def decode(cls, data: bytes) -> LiveEvent:
        message = json.loads(data)
        return cls(LiveEventType(message["type"]), int(message["tweetId"]))


def home_channel(user_id: int) -> str:
    return f"home:{user_id}"


def author_channel(user_id: int) -> str:
    """Live events of a celebrity's own tweets, for followers' subscriptions."""
    return f"author:{user_id}"


class LiveEvents:
    """Publishes one event to many home timelines in one call (one round trip on Redis)."""

    def __init__(self, events: EventBus) -> None:
        self._events = events

    async def to_home_timelines(self, user_ids: Iterable[int], event: LiveEvent) -> None:
        data = event.encode()
        await self._events.publish_many([(home_channel(user_id), data) for user_id in user_ids])

    async def to_author_followers(self, author_id: int, event: LiveEvent) -> None:
        await self._events.publish(author_channel(author_id), event.encode())


def subscription_channels(viewer_id: int, followed_celebrities: Sequence[int]) -> list[str]:
    return [home_channel(viewer_id), *(author_channel(c) for c in followed_celebrities)]
