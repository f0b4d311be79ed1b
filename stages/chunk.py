"""Chunk author text into overlapping passages; headlines pass through whole.

    python stages/chunk.py

Reads data/dedup/records.jsonl. Gutenberg records of one book section (chapter, essay,
letter) become chunks of up to chunk.max_tokens SmolLM2 tokens, consecutive chunks sharing
overlap_min..overlap_max tokens of whole paragraphs; a chunk never crosses a section and ends
at a paragraph (turn) boundary. A headline or joke is never split. Each chunk keeps its
parent's metadata plus its parents' ids and a passage id (the section), so the split stage
can keep a passage on one side. Writes:
  data/chunks/records.jsonl
  metrics/chunk.json          chunk counts and token sizes per source
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.chunking import ChunkParams, chunk_books, size_metrics, whole

log = logging.getLogger("chunk")

IN = Path("data/dedup/records.jsonl")
OUT = Path("data/chunks/records.jsonl")
METRICS = Path("metrics/chunk.json")


@dataclass(frozen=True)
class Params:
    tokenizer: str
    max_tokens: int
    overlap_min: int
    overlap_max: int

    def __post_init__(self):
        self.chunking()  # ChunkParams checks the sizes: fail at load, not mid-run

    def chunking(self) -> ChunkParams:
        return ChunkParams(self.max_tokens, self.overlap_min, self.overlap_max)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("chunk", Params)
    from twainlora.core.tokens import TokenCounter

    counter = TokenCounter(params.tokenizer)
    records = list(read_jsonl(IN))
    books = [r for r in records if r["source"] == "gutenberg"]
    out = chunk_books(books, params.chunking(), counter.count)
    out += [whole(r) for r in records if r["source"] != "gutenberg"]
    write_jsonl(OUT, out)
    write_json(METRICS, size_metrics(out))
    log.info("%d chunks", len(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
