"""A fastText supervised text classifier: one text normalization, one way to train and to read
probabilities. The tag stage's tone classifier and the evaluate stage's style classifier are
both this, with their own labels and params."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

_TOKEN = re.compile(r"\w+|[^\w\s]")
# What a stage's params set for training, under these names (fastText's own, snake_case).
SETTINGS = ("epoch", "lr", "word_ngrams", "dim", "seed")


def ft_text(text: str) -> str:
    """One line of lower-cased words and punctuation, as fastText reads it (it splits on
    whitespace only, and a newline would end the example)."""
    return " ".join(_TOKEN.findall(text.lower()))


def settings_of(params) -> dict:
    """The training settings of a params object that has them as attributes."""
    return {name: getattr(params, name) for name in SETTINGS}


class FastTextClassifier:
    def __init__(self, model):
        self.model = model

    @classmethod
    def train(
        cls,
        examples: Sequence[tuple[str, str]],
        *,
        epoch: int,
        lr: float,
        word_ngrams: int,
        dim: int,
        seed: int,
    ) -> FastTextClassifier:
        """Train on (label, text) pairs, in the order given (fastText reads its input file
        sequentially, so the order is part of the model)."""
        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # its load-time warning
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "train.txt"
            path.write_text(
                "".join(f"__label__{label} {ft_text(text)}\n" for label, text in examples),
                "utf-8",
            )
            # thread=1: fastText's Hogwild updates are nondeterministic with several threads.
            model = fasttext.train_supervised(
                input=str(path),
                epoch=epoch,
                lr=lr,
                wordNgrams=word_ngrams,
                dim=dim,
                seed=seed,
                thread=1,
                verbose=0,
            )
        return cls(model)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Every label's probability, per text."""
        if not texts:
            return []
        labels, probs = self.model.predict([ft_text(t) for t in texts], k=-1)
        return [
            # fastText's softmax can exceed 1 by 1e-5
            {
                label.removeprefix("__label__"): min(1.0, float(p))
                for label, p in zip(ls, ps, strict=True)
            }
            for ls, ps in zip(labels, probs, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label, per text."""
        return [max(p, key=p.get) for p in self.probabilities(texts)]
