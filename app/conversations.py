"""How a thread is laid out for one reader: the chain of ancestors up to the root, then the
replies below the tweet in focus as a tree, flattened depth first.

Siblings are ordered as readers of threads expect: a reply by the author of the tweet it
answers (a self-thread) comes first, oldest first; the other replies follow, ranked by
engagement (likes, retweets and replies; then newest) or by time, as the client asks. A
reply the reader may not see is left out, unless something below it is visible: then it
stays as a placeholder, so the chain is not broken. Ancestors are always kept in the chain,
as placeholders where hidden. Each tweet of the thread appears once.

The layout works on the thread's own entries (storage: one read of the thread) and on what
the caller tells it: which tweets the reader may see, and each tweet's engagement.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from storage.records import ConversationEntry

THREAD_LIMIT = 2_000  # a thread is read up to this many tweets, oldest first


class Order(Enum):
    RANKED = "ranked"
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True, slots=True)
class Placed:
    """A tweet's place in the layout: its depth below the root, and whether the reader sees
    it (False: a placeholder for a hidden tweet that keeps the chain)."""

    tweet_id: int
    depth: int
    shown: bool


@dataclass(frozen=True)
class Thread:
    ancestors: list[Placed]  # root first, down to the focus's parent
    focus_depth: int
    replies: list[Placed]  # below the focus, depth first in reading order


def layout(
    entries: Sequence[ConversationEntry],
    focus_id: int,
    visible: Collection[int],
    order: Order,
    engagement: Mapping[int, int],
) -> Thread:
    by_id = {entry.tweet_id: entry for entry in entries}
    children: dict[int, list[ConversationEntry]] = {}
    for entry in entries:
        if entry.parent_id is not None:
            children.setdefault(entry.parent_id, []).append(entry)
    chain = _ancestors(by_id, focus_id)
    ancestors = [
        Placed(tweet_id, depth, tweet_id in visible) for depth, tweet_id in enumerate(chain)
    ]
    focus_depth = len(chain)
    replies: list[Placed] = []
    keep = _worth_showing(focus_id, children, visible)

    def walk(parent: ConversationEntry | None, parent_id: int, depth: int) -> None:
        for child in _ordered(parent, children.get(parent_id, []), order, engagement):
            if child.tweet_id not in keep:
                continue
            replies.append(Placed(child.tweet_id, depth, child.tweet_id in visible))
            walk(child, child.tweet_id, depth + 1)

    walk(by_id.get(focus_id), focus_id, focus_depth + 1)
    return Thread(ancestors, focus_depth, replies)


def _ancestors(by_id: Mapping[int, ConversationEntry], focus_id: int) -> list[int]:
    """The focus's ancestors, root first (as far as the thread's entries reach)."""
    chain: list[int] = []
    entry = by_id.get(focus_id)
    while entry is not None and entry.parent_id is not None and entry.parent_id not in chain:
        chain.append(entry.parent_id)
        entry = by_id.get(entry.parent_id)
    return chain[::-1]


def _worth_showing(
    focus_id: int, children: Mapping[int, list[ConversationEntry]], visible: Collection[int]
) -> set[int]:
    """The replies below the focus that are visible or have a visible reply below them."""
    keep: set[int] = set()

    def visit(tweet_id: int) -> bool:
        below = [visit(child.tweet_id) for child in children.get(tweet_id, [])]
        if tweet_id in visible or any(below):
            keep.add(tweet_id)
            return True
        return False

    for child in children.get(focus_id, []):
        visit(child.tweet_id)
    return keep


def _ordered(
    parent: ConversationEntry | None,
    siblings: list[ConversationEntry],
    order: Order,
    engagement: Mapping[int, int],
) -> list[ConversationEntry]:
    own = [s for s in siblings if parent is not None and s.author_id == parent.author_id]
    others = [s for s in siblings if parent is None or s.author_id != parent.author_id]
    own.sort(key=lambda s: s.tweet_id)
    if order is Order.OLDEST:
        others.sort(key=lambda s: s.tweet_id)
    elif order is Order.NEWEST:
        others.sort(key=lambda s: s.tweet_id, reverse=True)
    else:
        others.sort(key=lambda s: (engagement.get(s.tweet_id, 0), s.tweet_id), reverse=True)
    return own + others
