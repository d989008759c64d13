"""JobStreams: what every JobQueues adapter shares, the named streams opened on first use."""

from __future__ import annotations

from typing import Generic, TypeVar

Q = TypeVar("Q")


class JobStreams(Generic[Q]):
    """Subclasses say how to open one stream; each name is opened once and kept."""

    def __init__(self) -> None:
        self._streams: dict[str, Q] = {}

    def stream(self, name: str) -> Q:
        if name not in self._streams:
            self._streams[name] = self._open(name)
        return self._streams[name]

    def _open(self, name: str) -> Q:
        raise NotImplementedError
