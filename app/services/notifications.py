"""Reading notifications and marking them read. Writing them is the notify job's
(app/jobs/notify.py): nothing on a request path writes a notification."""

from __future__ import annotations

from collections.abc import Collection

from app.notifications import UNREAD_CAP
from storage.ports import NotificationStore, Position
from storage.records import NotificationGroup, utcnow


class Notifications:
    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    async def page(
        self,
        viewer_id: int,
        first: int,
        after: Position | None,
        kinds: Collection[str] | None,
    ) -> tuple[list[NotificationGroup], bool, Position | None]:
        """Up to `first` groups after `after`, whether there are more, and the read marker."""
        groups = await self._store.page(viewer_id, first + 1, after, kinds)
        marker = await self._store.read_marker(viewer_id) if groups else None
        return groups[:first], len(groups) > first, marker

    async def unread_count(self, viewer_id: int) -> int:
        return await self._store.unread_count(viewer_id, UNREAD_CAP)

    async def mark_read(self, viewer_id: int, up_to: Position | None) -> int:
        """Everything up to `up_to` (a notification of the viewer's; by default the newest)
        is read; returns the unread count after. A marker never lies in the future, so a
        made-up cursor cannot mark notifications read before they exist."""
        if up_to is None:
            newest = await self._store.page(viewer_id, 1)
            up_to = newest[0].position if newest else None
        if up_to is not None:
            await self._store.mark_read(viewer_id, min(up_to, (utcnow(), 0)))
        return await self.unread_count(viewer_id)
