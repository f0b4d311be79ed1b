"""The clean stage's steps: raw books into paragraph records, raw headlines cleaned, then every
candidate through the length, language and safety filters. Every drop goes to `rejects` with
its reason (twainlora.core.records.reject), and the reasons become metrics/clean.json counts."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

from tqdm import tqdm

from twainlora.core.records import reject
from twainlora.data import gutenberg
from twainlora.data.text import clean_headline, normalize, strip_html

log = logging.getLogger(__name__)

BOOK_META = ("author", "title", "year", "url", "license", "sha256", "gutenberg_id")


def book_paragraphs(
    book: dict, bounds: gutenberg.BodyBounds | None, rejects: list[dict]
) -> list[dict]:
    """A book's body as paragraph records; apparatus paragraphs go to rejects."""
    gid = book["meta"]["gutenberg_id"]
    name = book["meta"].get("mirror_path", book["id"])
    body = gutenberg.strip_boilerplate(book["text"], name)
    if bounds is not None:
        body = gutenberg.cut_to_bounds(body, bounds, name)
    else:
        log.warning(
            "%s: no body bounds in the books file; front matter is removed by heuristics only",
            name,
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


def book_candidates(
    books: Iterable[dict],
    bounds: dict[int, gutenberg.BodyBounds],
    count_tokens: Callable[[list[str]], list[int]],
    min_tokens: int,
    rejects: list[dict],
) -> list[dict]:
    """The paragraph records of every book, short neighbours merged up to min_tokens; a book
    that cannot be cut (a missing marker or bound) is rejected whole, with the first 2,000
    characters of its text."""
    candidates = []
    for book in tqdm(list(books), desc="clean: books", unit="book"):
        try:
            paras = book_paragraphs(book, bounds.get(book["meta"]["gutenberg_id"]), rejects)
            lengths = count_tokens([p["text"] for p in paras])
            candidates.extend(gutenberg.merge_short_paragraphs(paras, lengths, min_tokens))
        except gutenberg.GutenbergError as e:
            log.warning("rejected book %s: %s", book["id"], e)
            rejects.append(
                reject({**book, "text": book["text"][:2000]}, "clean", "book_unreadable", str(e))
            )
    return candidates


def clean_headline_record(record: dict) -> dict:
    meta = dict(record["meta"])
    if meta.get("selftext"):
        meta["selftext"] = normalize(strip_html(meta["selftext"]))
    text = clean_headline(normalize(strip_html(record["text"])))
    return {**record, "text": text, "meta": meta}


def headline_candidates(records: Iterable[dict], rejects: list[dict]) -> list[dict]:
    candidates = []
    for record in records:
        cleaned = clean_headline_record(record)
        if cleaned["text"]:
            candidates.append(cleaned)
        else:
            rejects.append(reject(record, "clean", "empty_after_cleaning"))
    return candidates


def filter_candidates(
    candidates: Sequence[dict],
    count_tokens: Callable[[list[str]], list[int]],
    length_check: Callable[[int], tuple[str, str] | None],
    checks: Sequence[Callable[[list[str]], list]],
    batch_size: int,
    rejects: list[dict],
) -> list[dict]:
    """The candidates that pass the length check and then each of `checks` in turn (batched:
    a check takes texts and returns None or a (reason, detail) drop per text); kept records
    get meta.tokens."""
    kept = []
    for start in tqdm(range(0, len(candidates), batch_size), desc="clean: filters", unit="batch"):
        batch = candidates[start : start + batch_size]
        texts = [r["text"] for r in batch]
        lengths = count_tokens(texts)
        drops = [length_check(n) for n in lengths]
        # Later checks only see texts that passed the earlier ones (a 5 MB line does not go
        # through the models).
        todo = [i for i, d in enumerate(drops) if d is None]
        for check in checks:
            for i, d in zip(todo, check([texts[i] for i in todo]), strict=True):
                drops[i] = d
            todo = [i for i in todo if drops[i] is None]
        for record, n, drop in zip(batch, lengths, drops, strict=True):
            if drop is None:
                kept.append({**record, "meta": {**record["meta"], "tokens": n}})
            else:
                rejects.append(reject(record, "clean", *drop))
    return kept


def counts_by_source(kept: Iterable[dict], rejects: Iterable[dict]) -> dict:
    """metrics/clean.json: per source, records kept and dropped per reason."""
    by_source: dict[str, dict] = defaultdict(lambda: {"kept": 0, "dropped": Counter()})
    for r in kept:
        by_source[r["source"]]["kept"] += 1
    for r in rejects:
        by_source[r["source"]]["dropped"][r["reason"]] += 1
    return {
        src: {
            "kept": v["kept"],
            "dropped": dict(sorted(v["dropped"].items())),
            "dropped_total": sum(v["dropped"].values()),
        }
        for src, v in sorted(by_source.items())
    }
