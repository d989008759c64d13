import itertools

from app.ids import (
    CHIRP_EPOCH_MS,
    MAX_SEQUENCE,
    SEQUENCE_BITS,
    SnowflakeGenerator,
    id_timestamp_ms,
)


class SteppingClock:
    def __init__(self, *readings: int) -> None:
        self.readings = list(readings)

    def __call__(self) -> int:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_ids_carry_time_worker_and_sequence() -> None:
    now = CHIRP_EPOCH_MS + 123_456
    generator = SnowflakeGenerator(worker_id=7, clock_ms=lambda: now)
    first, second = generator.next_id(), generator.next_id()
    assert id_timestamp_ms(first) == now
    assert (first >> SEQUENCE_BITS) & 0x3FF == 7
    assert second == first + 1  # same millisecond: the sequence counts up
    assert first.bit_length() <= 63


def test_ids_strictly_increase_over_many_calls() -> None:
    generator = SnowflakeGenerator(worker_id=1)
    ids = [generator.next_id() for _ in range(50_000)]
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_clock_stepping_back_never_repeats_or_decreases() -> None:
    base = CHIRP_EPOCH_MS + 10_000
    clock = SteppingClock(base, base + 5, base - 2_000, base - 1_999, base + 6)
    generator = SnowflakeGenerator(worker_id=3, clock_ms=clock)
    ids = [generator.next_id() for _ in range(5)]
    assert ids == sorted(set(ids))
    # While the clock is behind, ids keep the last timestamp rather than going back in time.
    assert id_timestamp_ms(ids[2]) == base + 5


def test_sequence_overflow_moves_to_the_next_millisecond() -> None:
    now = CHIRP_EPOCH_MS + 1
    generator = SnowflakeGenerator(worker_id=0, clock_ms=lambda: now)
    ids = [generator.next_id() for _ in range(MAX_SEQUENCE + 2)]
    assert id_timestamp_ms(ids[-1]) == now + 1
    assert ids == sorted(set(ids))


def test_worker_id_is_bounded() -> None:
    import pytest

    with pytest.raises(ValueError):
        SnowflakeGenerator(worker_id=1024)
