"""Snowflake ids: 41 bits of milliseconds since CHIRP_EPOCH, 10 bits of worker id, 12 of sequence.

Ids are strictly increasing within a process. When the wall clock steps back, the
generator keeps issuing ids from the last timestamp it used (borrowing sequence numbers,
then the next millisecond) instead of going backwards or failing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

CHIRP_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
TIMESTAMP_SHIFT = WORKER_BITS + SEQUENCE_BITS
MAX_ID = (1 << 63) - 1  # every store keeps ids in a signed 64-bit column
_ID_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also accepts "²"


class SnowflakeGenerator:
    def __init__(self, worker_id: int, clock_ms: Callable[[], int] | None = None) -> None:
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker id must be within 0..{MAX_WORKER_ID}, got {worker_id}")
        self._worker_id = worker_id
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._last_ms = -1
        self._sequence = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            now = self._clock_ms() - CHIRP_EPOCH_MS
            if now > self._last_ms:
                self._last_ms = now
                self._sequence = 0
            else:
                # Same millisecond, or the clock stepped back: keep counting from the last one.
                self._sequence += 1
                if self._sequence > MAX_SEQUENCE:
                    self._last_ms += 1
                    self._sequence = 0
            return (
                (self._last_ms << TIMESTAMP_SHIFT)
                | (self._worker_id << SEQUENCE_BITS)
                | (self._sequence)
            )


def id_timestamp_ms(snowflake: int) -> int:
    """Unix milliseconds at which a Snowflake id was issued."""
    return (snowflake >> TIMESTAMP_SHIFT) + CHIRP_EPOCH_MS


def parse_id(text: object) -> int | None:
    """The id `text` spells, or None: ASCII digits only, within 1..MAX_ID. The one rule for
    every id that comes from outside (bare, inside a global id, a cursor or a token)."""
    if not isinstance(text, str) or _ID_DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
