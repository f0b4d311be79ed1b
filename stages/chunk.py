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
import statistics
import sys
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from tqdm import tqdm

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.chunking import ChunkParams, Unit, chunk_units, split_long

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


def passage_key(record: dict) -> tuple:
    return (record["meta"]["gutenberg_id"], record["meta"]["section"])


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("chunk", Params)
    from twainlora.core.tokens import TokenCounter

    counter = TokenCounter(params.tokenizer)
    records = list(read_jsonl(IN))
    books = [r for r in records if r["source"] == "gutenberg"]
    out: list[dict] = []
    sections = [list(g) for _, g in groupby(books, key=passage_key)]
    for section in tqdm(sections, desc="chunk: sections", unit="section"):
        units: list[Unit] = []
        for record in section:
            unit = Unit(record["text"], record["meta"]["tokens"], record["id"])
            if unit.tokens > params.max_tokens:
                units.extend(split_long(unit, params.max_tokens, counter.count))
            else:
                units.append(unit)
        gid, sec = passage_key(section[0])
        meta = {
            k: v
            for k, v in section[0]["meta"].items()
            if k not in ("paragraph", "paragraphs", "tokens")
        }
        for n, chunk in enumerate(chunk_units(units, params.chunking())):
            parents = list(dict.fromkeys(u.parent for u in chunk))
            out.append(
                {
                    "id": f"gutenberg:{gid}:s{sec:04d}c{n:03d}",
                    "text": "\n".join(u.text for u in chunk),
                    "source": "gutenberg",
                    "meta": {
                        **meta,
                        "tokens": sum(u.tokens for u in chunk),
                        "parents": parents,
                        "passage": f"gutenberg:{gid}:s{sec:04d}",
                    },
                }
            )
    for record in records:
        if record["source"] != "gutenberg":
            out.append(
                {
                    **record,
                    "meta": {**record["meta"], "parents": [record["id"]], "passage": record["id"]},
                }
            )
    metrics = {}
    for source in sorted({r["source"] for r in out}):
        sizes = [r["meta"]["tokens"] for r in out if r["source"] == source]
        metrics[source] = {
            "chunks": len(sizes),
            "tokens_total": sum(sizes),
            "tokens_median": statistics.median(sizes),
            "tokens_max": max(sizes),
        }
    write_jsonl(OUT, out)
    write_json(METRICS, metrics)
    log.info("%d chunks", len(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
