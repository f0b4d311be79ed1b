"""What an answer must not do whatever its style: be toxic (alt-profanity-check) or copy the
training answers verbatim (shared word 8-grams)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from twainlora.eval.compare import mean, share


def toxicity_probs(texts: Sequence[str]) -> list[float]:
    """alt-profanity-check's probability per text (its linear model ships in the wheel)."""
    if not texts:
        return []
    from profanity_check import predict_prob

    return [float(p) for p in predict_prob(list(texts))]


def toxicity_summary(probs: Sequence[float], threshold: float) -> dict:
    return {
        "n": len(probs),
        "share_over_threshold": share([p >= threshold for p in probs]),
        "mean_prob": mean(probs),
        "max_prob": round(max(probs), 4) if probs else None,
    }


_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def copied_ngrams(
    wanted: set[tuple[str, ...]], training_texts: Iterable[str], n: int
) -> set[tuple[str, ...]]:
    """The n-grams of `wanted` that occur in the training texts. Only the generated n-grams
    are kept in memory, not the training set's millions."""
    found = set()
    for text in training_texts:
        found.update(g for g in ngrams(text, n) if g in wanted)
    return found


def copy_summary(texts: Sequence[str], copied: set[tuple[str, ...]], n: int) -> dict:
    grams = [g for t in texts for g in ngrams(t, n)]
    return {f"ngrams_{n}": len(grams), "copied_share": share([g in copied for g in grams])}
