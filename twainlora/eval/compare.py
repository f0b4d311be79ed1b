"""Numbers side by side: shares and means as the metrics report them, an adapter's metrics
minus the base model's, and seeded samples of what is compared."""

from __future__ import annotations

import random
from collections.abc import Sequence


def share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


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
