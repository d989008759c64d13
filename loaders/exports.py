"""The latest data export of each user (`me.dataExport`)."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from storage.ports import LifecycleStore
from storage.records import DataExport


class DataExportByUserIdLoader(DataLoader[int, DataExport | None]):
    def __init__(self, lifecycle: LifecycleStore) -> None:
        super().__init__()
        self._lifecycle = lifecycle

    async def batch_load_fn(self, ids: Sequence[int]) -> list[DataExport | None]:
        # Only the viewer's own export is ever asked for: one key a request.
        return [await self._lifecycle.export_of(user_id) for user_id in ids]
