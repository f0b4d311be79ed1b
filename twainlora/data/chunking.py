"""Chunking author text into overlapping passages of a target token size.

Units are whole paragraph records, so a chunk always ends at a paragraph boundary, which in
dialogue is a turn boundary. Only a paragraph longer than the chunk limit is split, at
sentence boundaries. Consecutive chunks of a section share trailing units worth
`overlap_min`..`overlap_max` tokens where the units allow it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

_SENTENCE_END = re.compile(r'(?<=[.!?])["\')\]]*\s+(?=["\'(\[]?[A-Z0-9])')


@dataclass(frozen=True)
class ChunkParams:
    max_tokens: int = 512
    overlap_min: int = 128
    overlap_max: int = 256

    def __post_init__(self):
        if not 0 <= self.overlap_min <= self.overlap_max < self.max_tokens:
            raise ValueError("need 0 <= overlap_min <= overlap_max < max_tokens")


@dataclass(frozen=True)
class Unit:
    text: str
    tokens: int
    parent: str  # id of the record it came from


def split_before_capitals(text: str) -> list[str]:
    """Pieces of a paragraph cut after . ! ? where the next sentence opens with a capital or a
    digit. Not twainlora.sft.plainify.split_keeping_titles: this one also cuts after "Mr." and
    drops closing quotes at a cut (the chunks of the shipped data were cut this way, so a
    change here changes them); that one keeps whole sentences to show a user."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def split_long(unit: Unit, max_tokens: int, count: Callable[[list[str]], list[int]]) -> list[Unit]:
    """A unit over `max_tokens` as runs of whole sentences, each within the limit where a
    single sentence allows it (one longer sentence stays whole)."""
    sentences = split_before_capitals(unit.text)
    lengths = count(sentences)
    out, run, run_tokens = [], [], 0
    for sentence, n in zip(sentences, lengths, strict=True):
        if run and run_tokens + n > max_tokens:
            out.append(Unit(" ".join(run), run_tokens, unit.parent))
            run, run_tokens = [], 0
        run.append(sentence)
        run_tokens += n
    if run:
        out.append(Unit(" ".join(run), run_tokens, unit.parent))
    return out


def chunk_units(units: list[Unit], params: ChunkParams) -> list[list[Unit]]:
    """Greedy chunks of consecutive units up to max_tokens, each after the first starting with
    the longest run of the previous chunk's trailing units that fits in overlap_max."""
    chunks: list[list[Unit]] = []
    i = 0
    while i < len(units):
        chunk, total = [], 0
        if chunks:
            prev = chunks[-1]
            overlap, size = [], 0
            # At least one unit of the previous chunk stays behind, so every chunk is new text.
            for unit in reversed(prev[1:]):
                if size + unit.tokens > params.overlap_max:
                    break
                overlap.insert(0, unit)
                size += unit.tokens
            chunk, total = list(overlap), size
        start = i
        while i < len(units) and (i == start or total + units[i].tokens <= params.max_tokens):
            if i == start and chunk and total + units[i].tokens > params.max_tokens:
                chunk, total = [], 0  # the overlap would push the new unit over the limit
            chunk.append(units[i])
            total += units[i].tokens
            i += 1
        chunks.append(chunk)
    return chunks


def passage_key(record: dict) -> tuple:
    """A book section: (Gutenberg id, section number); a chunk never crosses one."""
    return (record["meta"]["gutenberg_id"], record["meta"]["section"])


def chunk_books(
    records: Sequence[dict], params: ChunkParams, count: Callable[[list[str]], list[int]]
) -> list[dict]:
    """The chunk records of consecutive paragraph records (the clean stage's order), section by
    section; each keeps its first paragraph's book metadata, its parents' ids and its passage
    id (the section)."""
    from tqdm import tqdm

    out = []
    sections = [list(g) for _, g in groupby(records, key=passage_key)]
    for section in tqdm(sections, desc="chunk: sections", unit="section"):
        units: list[Unit] = []
        for record in section:
            unit = Unit(record["text"], record["meta"]["tokens"], record["id"])
            if unit.tokens > params.max_tokens:
                units.extend(split_long(unit, params.max_tokens, count))
            else:
                units.append(unit)
        gid, sec = passage_key(section[0])
        meta = {
            k: v
            for k, v in section[0]["meta"].items()
            if k not in ("paragraph", "paragraphs", "tokens")
        }
        for n, chunk in enumerate(chunk_units(units, params)):
            out.append(
                {
                    "id": f"gutenberg:{gid}:s{sec:04d}c{n:03d}",
                    "text": "\n".join(u.text for u in chunk),
                    "source": "gutenberg",
                    "meta": {
                        **meta,
                        "tokens": sum(u.tokens for u in chunk),
                        "parents": list(dict.fromkeys(u.parent for u in chunk)),
                        "passage": f"gutenberg:{gid}:s{sec:04d}",
                    },
                }
            )
    return out


def whole(record: dict) -> dict:
    """A record that is never split (a headline, a joke): its own parent and passage."""
    return {
        **record,
        "meta": {**record["meta"], "parents": [record["id"]], "passage": record["id"]},
    }


def size_metrics(records: Sequence[dict]) -> dict:
    """metrics/chunk.json: per source, chunks and their token sizes."""
    metrics = {}
    for source in sorted({r["source"] for r in records}):
        sizes = [r["meta"]["tokens"] for r in records if r["source"] == source]
        metrics[source] = {
            "chunks": len(sizes),
            "tokens_total": sum(sizes),
            "tokens_median": statistics.median(sizes),
            "tokens_max": max(sizes),
        }
    return metrics
