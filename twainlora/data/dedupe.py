"""Near-duplicate detection: word-shingle MinHash, banded LSH for candidates, exact Jaccard
to confirm, union-find clusters, and one keeper per cluster.

Why not datasketch's `MinHashLSH(threshold=0.8)` alone: its bands are tuned so the S-curve
crosses 0.5 near the threshold, so a pair *at* 0.8 is a candidate only about half the time
and a pair at 0.75 far less (measured in bench/dedupe.py). Here the bands are set well below
the target, b=32 bands of r=4 rows: the S-curve's midpoint is (1/b)^(1/r) = 0.42 and a pair at
Jaccard 0.7 becomes a candidate with probability 1-(1-0.7^4)^32 = 0.9998. Candidates are then
kept only when their exact shingle Jaccard reaches `jaccard_threshold`, so the loose bands cost
a few more comparisons, not precision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True)
class MinHashParams:
    shingle_words: int = 3  # word n-grams; a text shorter than n is one shingle
    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    jaccard_threshold: float = 0.7
    seed: int = 1

    def __post_init__(self):
        if self.bands * self.rows > self.num_perm:
            raise ValueError(
                f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
            )
        if not 0.0 < self.jaccard_threshold <= 1.0:
            raise ValueError("jaccard_threshold must be within (0, 1]")

    @property
    def lsh_midpoint(self) -> float:
        """Where the banding S-curve crosses 1/2: the similarity candidates start at."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def candidate_probability(self, jaccard: float) -> float:
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation: case and quotes do not make texts different."""
    return _WORD.findall(text.lower())


def shingles(text: str, n: int) -> frozenset[str]:
    w = words(text)
    if len(w) <= n:
        return frozenset([" ".join(w)]) if w else frozenset()
    return frozenset(" ".join(w[i : i + n]) for i in range(len(w) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def minhashes(shingle_sets: Sequence[frozenset[str]], params: MinHashParams):
    """One LeanMinHash per shingle set; `MinHash.bulk` shares the permutations (7x faster
    than a MinHash and update() per document)."""
    from datasketch import LeanMinHash, MinHash

    encoded = [sorted(s.encode("utf-8") for s in shingle_set) for shingle_set in shingle_sets]
    return [
        LeanMinHash(m) for m in MinHash.bulk(encoded, num_perm=params.num_perm, seed=params.seed)
    ]


def duplicate_pairs(
    texts: Sequence[str], params: MinHashParams, progress: bool = False
) -> list[tuple[int, int, float]]:
    """(i, j, jaccard) for every confirmed near-duplicate pair, i < j, sorted."""
    from datasketch import MinHashLSH
    from tqdm import tqdm

    sets = [shingles(t, params.shingle_words) for t in texts]
    hashes = minhashes(sets, params)
    lsh = MinHashLSH(num_perm=params.num_perm, params=(params.bands, params.rows))
    with lsh.insertion_session() as session:
        for i, m in enumerate(hashes):
            session.insert(i, m, check_duplication=False)
    pairs = set()
    for i, m in enumerate(tqdm(hashes, desc="dedupe: lsh query", unit="doc", disable=not progress)):
        for j in lsh.query(m):
            if j > i:
                pairs.add((i, j))
    confirmed = []
    for i, j in sorted(pairs):
        score = jaccard(sets[i], sets[j])
        if score >= params.jaccard_threshold:
            confirmed.append((i, j, score))
    return confirmed


def keeper_rank(record: dict, prefer: Sequence[str]) -> tuple:
    """Sort key of the copy to keep: earliest matching id prefix in `prefer`, then the
    longest text, then the highest score, then the smallest id (for determinism)."""
    rid = record["id"]
    rank = next((k for k, prefix in enumerate(prefer) if rid.startswith(prefix)), len(prefer))
    score = record.get("meta", {}).get("score")
    return (rank, -len(record["text"]), -(score if isinstance(score, int | float) else -1), rid)
