from collections import Counter

from app.ids import SnowflakeGenerator
from storage.sharding import LOGICAL_SHARDS, ShardMap, shard_of_id, shard_of_key, spread


def _snowflakes(count: int) -> list[int]:
    # Real-world shape: a few workers, ids issued over time (mostly sequence 0).
    clock = iter(range(1_704_067_200_000, 1_704_067_200_000 + count * 7, 7))
    generators = [
        SnowflakeGenerator(worker, clock_ms=lambda: next(clock)) for worker in (0, 4, 8, 12)
    ]
    return [generators[i % 4].next_id() for i in range(count)]


def test_modulo_on_snowflakes_is_skewed_and_hashing_is_not() -> None:
    ids = _snowflakes(100_000)
    modulo = Counter(snowflake % LOGICAL_SHARDS for snowflake in ids)
    hashed = Counter(shard_of_id(snowflake) for snowflake in ids)
    # The original design's `user_id % 100` leaves most shards empty.
    assert len(modulo) <= 25
    assert len(hashed) == LOGICAL_SHARDS
    assert spread([hashed[s] for s in range(LOGICAL_SHARDS)]) < 0.10


def test_keys_hash_ignoring_case() -> None:
    assert shard_of_key("Alice") == shard_of_key("aLICE")
    counts = Counter(shard_of_key(f"user_{i}") for i in range(100_000))
    assert spread([counts[s] for s in range(LOGICAL_SHARDS)]) < 0.10


def test_shard_map_moves_whole_logical_shards() -> None:
    before = ShardMap.round_robin(physical=2)
    after = before.moved(logical_shard=5, physical=0)  # round robin put it on 1
    ids = _snowflakes(10_000)
    moved = [i for i in ids if before.physical_for_id(i) != after.physical_for_id(i)]
    assert moved and all(shard_of_id(i) == 5 for i in moved)
    groups = after.group_ids(ids)
    assert sorted(i for group in groups.values() for i in group) == sorted(ids)
