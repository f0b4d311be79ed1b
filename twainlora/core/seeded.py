"""Seeded choices that do not depend on input order or on a shared RNG state.

Every stage that samples, orders or splits records does it through these, so that the same
seed and the same records give the same bytes whatever order the records arrive in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def seeded_hash(seed: int, key: str) -> str:
    """A stable pseudo-random hex digest of `key` under `seed`."""
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def seeded_unit(seed: int, key: str) -> float:
    """`seeded_hash` as a number in [0, 1)."""
    return int(seeded_hash(seed, key)[:13], 16) / 16**13


def seeded_order(items: Iterable[T], seed: int, key: Callable[[T], str]) -> list[T]:
    """`items` in a seeded order: sorted by the seeded hash of each item's key."""
    return sorted(items, key=lambda item: seeded_hash(seed, key(item)))


def allot(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` split by `shares`: round(share * total) each, the rounding remainder to the
    largest count (the first of equals, in `shares` order)."""
    counts = {k: int(round(total * v)) for k, v in shares.items()}
    top = max(counts, key=lambda k: counts[k])
    counts[top] += total - sum(counts.values())
    return counts


class UnionFind:
    """Disjoint sets over 0..n-1; the root of a set is always its smallest member."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def roots(self) -> list[int]:
        """The root (smallest member) of each element's set."""
        return [self.find(x) for x in range(len(self.parent))]


def components(n: int, edges: Iterable[Sequence[int]]) -> list[list[int]]:
    """Connected components of size >= 2 of the graph on 0..n-1, each sorted, in order of
    their first member (only the first two entries of an edge are read)."""
    sets = UnionFind(n)
    for edge in edges:
        sets.union(edge[0], edge[1])
    groups: dict[int, list[int]] = {}
    for x, root in enumerate(sets.roots()):
        groups.setdefault(root, []).append(x)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])
