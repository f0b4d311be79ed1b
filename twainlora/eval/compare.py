"""Numbers side by side: shares and means as the metrics report them, rates with their 95%
intervals, an adapter's metrics minus the base model's, and seeded samples of what is
compared."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95% Wilson score interval of hits/n (None when n is 0): unlike the normal
    approximation it stays inside [0, 1] and is honest at 0/n and n/n."""
    if n == 0:
        return None
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def rate(flags: Sequence[bool]) -> dict:
    """{'rate', 'ci95', 'n'} of a list of outcomes."""
    n, hits = len(flags), sum(flags)
    return {"rate": round(hits / n, 4) if n else None, "ci95": wilson(hits, n), "n": n}


def _is_count(key: str) -> bool:
    return key in ("n", "rated", "unparsed") or key.startswith(("n_", "ngrams_"))


def delta(metrics: dict, base: dict) -> dict:
    """metrics - base for every number both have (counts aside), nested like the input."""
    out = {}
    for key, value in metrics.items():
        other = base.get(key)
        if isinstance(value, dict) and isinstance(other, dict):
            if sub := delta(value, other):
                out[key] = sub
        elif (
            not _is_count(key)
            and isinstance(value, int | float)
            and isinstance(other, int | float)
            and not isinstance(value, bool)
        ):
            out[key] = round(value - other, 4)
    return out


def seeded_sample(items: Sequence, n: int, seed: int) -> list:
    """n items (all if fewer), a seeded choice, in their original order."""
    chosen = set(random.Random(seed).sample(range(len(items)), min(n, len(items))))
    return [item for i, item in enumerate(items) if i in chosen]
