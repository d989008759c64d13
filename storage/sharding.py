"""Logical shards and the map that places them on physical stores.

`id % N` on Snowflake ids is skewed (the low bits are a worker id and a mostly-zero
sequence), so ids, usernames and emails are hashed first onto a fixed number of logical
shards. A `ShardMap` assigns each logical shard to a physical store, so adding a database
moves whole logical shards and never rehashes a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

LOGICAL_SHARDS = 100
_MASK64 = (1 << 64) - 1


def mix64(value: int) -> int:
    """SplitMix64's finalizer: a bijective 64-bit mix in which every input bit moves the output."""
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def shard_of_id(entity_id: int, shards: int = LOGICAL_SHARDS) -> int:
    return mix64(entity_id) % shards


def shard_of_key(key: str, shards: int = LOGICAL_SHARDS) -> int:
    """Shard of a directory key (a username or email), compared case-insensitively."""
    digest = hashlib.blake2b(key.casefold().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


@dataclass(frozen=True)
class ShardMap:
    """Logical shard -> index of the physical store holding it."""

    placement: tuple[int, ...]

    @classmethod
    def round_robin(cls, physical: int, logical: int = LOGICAL_SHARDS) -> ShardMap:
        if physical < 1:
            raise ValueError("a shard map needs at least one physical store")
        return cls(tuple(shard % physical for shard in range(logical)))

    @classmethod
    def from_rows(cls, rows: Mapping[int, int], logical: int = LOGICAL_SHARDS) -> ShardMap:
        missing = [shard for shard in range(logical) if shard not in rows]
        if missing:
            raise ValueError(f"shard map has no placement for logical shards {missing[:5]}")
        return cls(tuple(rows[shard] for shard in range(logical)))

    @property
    def logical_shards(self) -> int:
        return len(self.placement)

    def physical_for_id(self, entity_id: int) -> int:
        return self.placement[shard_of_id(entity_id, self.logical_shards)]

    def physical_for_key(self, key: str) -> int:
        return self.placement[shard_of_key(key, self.logical_shards)]

    def moved(self, logical_shard: int, physical: int) -> ShardMap:
        placement = list(self.placement)
        placement[logical_shard] = physical
        return ShardMap(tuple(placement))

    def group_ids(self, ids: Iterable[int]) -> dict[int, list[int]]:
        """Ids grouped by the physical store that holds them, keeping their order."""
        groups: dict[int, list[int]] = {}
        for entity_id in ids:
            groups.setdefault(self.physical_for_id(entity_id), []).append(entity_id)
        return groups


def spread(counts: Sequence[int]) -> float:
    """Largest relative distance of any bucket from the mean (0.05 means within 5%)."""
    mean = sum(counts) / len(counts)
    return max(abs(count - mean) for count in counts) / mean
