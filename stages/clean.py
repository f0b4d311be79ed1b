"""Clean raw records into paragraph and headline records, dropping what must not train.

    python stages/clean.py

Reads data/raw/gutenberg.jsonl and data/raw/reddit.jsonl. Gutenberg books lose their license
header/footer, then their front and back matter (exact body bounds per book in params), and
are split into paragraphs; headlines lose HTML, URLs, bracketed tags and publisher suffixes.
Every text is ftfy-normalized, then filtered by token length (SmolLM2 tokenizer), language
(fastText lid.176) and safety (slur lexicon, doxxing patterns, alt-profanity-check). Writes:
  data/clean/records.jsonl   kept records, one paragraph or headline each
  data/rejects/clean.jsonl   every dropped record or book with its reason
  metrics/clean.json         kept and dropped per reason, per source
"""

from __future__ import annotations

import logging
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.records import reject
from twainlora.data import gutenberg
from twainlora.data.text import clean_headline, normalize, strip_html

log = logging.getLogger("clean")

RAW = (Path("data/raw/gutenberg.jsonl"), Path("data/raw/reddit.jsonl"))
OUT = Path("data/clean/records.jsonl")
REJECTS = Path("data/rejects/clean.jsonl")
METRICS = Path("metrics/clean.json")
BOOK_META = ("author", "title", "year", "url", "license", "sha256", "gutenberg_id")


@dataclass(frozen=True)
class Params:
    tokenizer: str  # "smollm2" (the embedded base model's) or a tokenizer directory
    min_tokens: int
    max_tokens: int
    english_threshold: float
    nsfw_threshold: float
    batch_size: int
    # Exact first and last body line per Gutenberg id; a book without bounds keeps its whole
    # body and only loses the paragraphs that look like apparatus (headings, contents, notes).
    body_bounds: dict[int, gutenberg.BodyBounds] = field(default_factory=dict)

    def __post_init__(self):
        if not 0 < self.min_tokens <= self.max_tokens:
            raise ValueError("need 0 < min_tokens <= max_tokens")
        for name in ("english_threshold", "nsfw_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


def book_paragraphs(book: dict, params: Params, rejects: list) -> list[dict]:
    """A book's body as paragraph records; apparatus paragraphs go to rejects."""
    gid = book["meta"]["gutenberg_id"]
    name = book["meta"].get("mirror_path", book["id"])
    body = gutenberg.strip_boilerplate(book["text"], name)
    if gid in params.body_bounds:
        body = gutenberg.cut_to_bounds(body, params.body_bounds[gid], name)
    else:
        log.warning(
            "%s: no body bounds in params; front matter is removed by heuristics only", name
        )
    meta = {k: book["meta"][k] for k in BOOK_META if k in book["meta"]}
    # A dropped heading starts a new section (chapter, essay, letter); chunks never cross one.
    out, reason, section = [], None, 0
    for i, para in enumerate(gutenberg.paragraphs(body)):
        record = {
            "id": f"gutenberg:{gid}:p{i:05d}",
            "text": gutenberg.clean_paragraph(para),
            "source": "gutenberg",
            "meta": {**meta, "paragraph": i, "section": section},
        }
        reason = gutenberg.paragraph_drop_reason(para, after_footnote=reason == "footnote")
        if reason:
            rejects.append(reject(record, "clean", reason))
            section += reason == "heading"
        elif record["text"]:
            out.append(record)
    return out


def clean_headline_record(record: dict) -> dict:
    meta = dict(record["meta"])
    if meta.get("selftext"):
        meta["selftext"] = normalize(strip_html(meta["selftext"]))
    text = clean_headline(normalize(strip_html(record["text"])))
    return {**record, "text": text, "meta": meta}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    from twainlora.core.params import load_params

    params = load_params("clean", Params)
    from twainlora.core.tokens import TokenCounter
    from twainlora.data.filters import LanguageFilter, SafetyFilter, length_check

    rejects: list[dict] = []
    candidates: list[dict] = []
    counter = TokenCounter(params.tokenizer)
    for book in tqdm(list(read_jsonl(RAW[0])), desc="clean: books", unit="book"):
        try:
            paras = book_paragraphs(book, params, rejects)
            lengths = counter.count([p["text"] for p in paras])
            candidates.extend(gutenberg.merge_short_paragraphs(paras, lengths, params.min_tokens))
        except gutenberg.GutenbergError as e:
            log.warning("rejected book %s: %s", book["id"], e)
            rejects.append(
                reject({**book, "text": book["text"][:2000]}, "clean", "book_unreadable", str(e))
            )
    for record in read_jsonl(RAW[1]):
        cleaned = clean_headline_record(record)
        if cleaned["text"]:
            candidates.append(cleaned)
        else:
            rejects.append(reject(record, "clean", "empty_after_cleaning"))

    language = LanguageFilter(params.english_threshold)
    safety = SafetyFilter(params.nsfw_threshold)
    kept: list[dict] = []
    for start in tqdm(
        range(0, len(candidates), params.batch_size), desc="clean: filters", unit="batch"
    ):
        batch = candidates[start : start + params.batch_size]
        texts = [r["text"] for r in batch]
        lengths = counter.count(texts)
        drops = [length_check(n, params.min_tokens, params.max_tokens) for n in lengths]
        # Language and safety only see texts that passed the length check (a 5 MB line does not
        # go through the models).
        todo = [i for i, d in enumerate(drops) if d is None]
        for check in (language.check_many, safety.check_many):
            for i, d in zip(todo, check([texts[i] for i in todo]), strict=True):
                drops[i] = d
            todo = [i for i in todo if drops[i] is None]
        for record, n, drop in zip(batch, lengths, drops, strict=True):
            if drop is None:
                kept.append({**record, "meta": {**record["meta"], "tokens": n}})
            else:
                rejects.append(reject(record, "clean", *drop))

    by_source: dict[str, dict] = defaultdict(lambda: {"kept": 0, "dropped": Counter()})
    for r in kept:
        by_source[r["source"]]["kept"] += 1
    for r in rejects:
        by_source[r["source"]]["dropped"][r["reason"]] += 1
    metrics = {
        src: {
            "kept": v["kept"],
            "dropped": dict(sorted(v["dropped"].items())),
            "dropped_total": sum(v["dropped"].values()),
        }
        for src, v in sorted(by_source.items())
    }
    write_jsonl(OUT, kept)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info("kept %d records, dropped %d", len(kept), len(rejects))
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
