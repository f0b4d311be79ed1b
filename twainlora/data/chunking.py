"""Chunking author text into overlapping passages of a target token size.

Units are whole paragraph records, so a chunk always ends at a paragraph boundary, which in
dialogue is a turn boundary. Only a paragraph longer than the chunk limit is split, at
sentence boundaries. Consecutive chunks of a section share trailing units worth
`overlap_min`..`overlap_max` tokens where the units allow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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
