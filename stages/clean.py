"""Clean raw records into paragraph and headline records, dropping what must not train.

    python stages/clean.py

Reads data/raw/gutenberg.jsonl and data/raw/reddit.jsonl. Gutenberg books lose their license
header/footer, then their front and back matter (exact body bounds per book in the books
file, params.yaml books), and are split into paragraphs; headlines lose HTML, URLs, bracketed tags
and publisher suffixes. Every text is ftfy-normalized, then filtered by token length (SmolLM2 tokenizer), language
(fastText lid.176) and safety (slur lexicon, doxxing patterns, alt-profanity-check). Writes:
  data/clean/records.jsonl   kept records, one paragraph or headline each
  data/rejects/clean.jsonl   every dropped record or book with its reason
  metrics/clean.json         kept and dropped per reason, per source
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data import cleaning
from twainlora.data.books import load_books

log = logging.getLogger("clean")

RAW = (Path("data/raw/gutenberg.jsonl"), Path("data/raw/reddit.jsonl"))
OUT = Path("data/clean/records.jsonl")
REJECTS = Path("data/rejects/clean.jsonl")
METRICS = Path("metrics/clean.json")


@dataclass(frozen=True)
class Params:
    tokenizer: str  # "smollm2" (the embedded base model's) or a tokenizer directory
    min_tokens: int
    max_tokens: int
    english_threshold: float
    nsfw_threshold: float
    batch_size: int

    def __post_init__(self):
        if not 0 < self.min_tokens <= self.max_tokens:
            raise ValueError("need 0 < min_tokens <= max_tokens")
        for name in ("english_threshold", "nsfw_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("clean", Params)
    bounds = {b.id: b.body for b in load_books(load_params("books", str)) if b.body is not None}
    from twainlora.core.tokens import TokenCounter
    from twainlora.data.filters import LanguageFilter, SafetyFilter, length_check

    rejects: list[dict] = []
    counter = TokenCounter(params.tokenizer)
    candidates = cleaning.book_candidates(
        read_jsonl(RAW[0]), bounds, counter.count, params.min_tokens, rejects
    )
    candidates += cleaning.headline_candidates(read_jsonl(RAW[1]), rejects)
    kept = cleaning.filter_candidates(
        candidates,
        counter.count,
        partial(length_check, min_tokens=params.min_tokens, max_tokens=params.max_tokens),
        # In turn: a text one check drops is not scored by the next (one reason per reject).
        [
            LanguageFilter(params.english_threshold).check_many,
            SafetyFilter(params.nsfw_threshold).check_many,
        ],
        params.batch_size,
        rejects,
    )
    write_jsonl(OUT, kept)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, cleaning.counts_by_source(kept, rejects))
    log.info("kept %d records, dropped %d", len(kept), len(rejects))
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
