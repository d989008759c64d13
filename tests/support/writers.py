"""A thread that writes without pause while a test does something else (a backup, a crash),
keeping what was acknowledged and when: the restore drills judge a restore by it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Acknowledged:
    """Calls `write(n)` for n = 0, 1, ... until stopped; `write` returns what it wrote (a
    tweet's text, a username), recorded with the times the call started and returned.

    A write in flight at a moment may have committed on either side of it: `before` is what
    was acknowledged before the moment (committed before it), `after` what was not even
    asked for until after it (committed after it); the one in flight is neither."""

    def __init__(self, write: Callable[[int], str], pause_s: float = 0.01) -> None:
        self.acknowledged: list[tuple[datetime, datetime, str]] = []
        self.errors: list[BaseException] = []
        self._write, self._pause_s = write, pause_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            asked = datetime.now(UTC)
            try:
                written = self._write(n)
            except BaseException as error:  # said by the test, not lost in this thread
                self.errors.append(error)
                return
            self.acknowledged.append((asked, datetime.now(UTC), written))
            n += 1
            time.sleep(self._pause_s)

    def __enter__(self) -> Acknowledged:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def before(self, moment: datetime) -> set[str]:
        return {what for _, done, what in self.acknowledged if done < moment}

    def after(self, moment: datetime) -> set[str]:
        return {what for asked, _, what in self.acknowledged if asked > moment}
