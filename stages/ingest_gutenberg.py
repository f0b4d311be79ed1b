"""Ingest the Gutenberg books of the books file (params.yaml books) into raw
text records.

    python stages/ingest_gutenberg.py

Reads each book from the corpora mirror (ingest_gutenberg.mirror) and downloads it from
Project Gutenberg only when the mirror lacks it. Writes:
  data/raw/gutenberg.jsonl             one record per book: the decoded text (headers intact)
                                       and its provenance (author, title, year, url, sha256)
  data/rejects/ingest_gutenberg.jsonl  books that could not be read, with the reason
  metrics/ingest_gutenberg.json
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.books import load_books, read_book
from twainlora.data.gutenberg import GutenbergError

log = logging.getLogger("ingest_gutenberg")

OUT = Path("data/raw/gutenberg.jsonl")
REJECTS = Path("data/rejects/ingest_gutenberg.jsonl")
METRICS = Path("metrics/ingest_gutenberg.json")


@dataclass(frozen=True)
class Params:
    mirror: str
    url_template: str  # where a book missing from the mirror is downloaded from


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("ingest_gutenberg", Params)
    books = load_books(load_params("books", str))
    records, rejects = [], []
    counts = {"books": 0, "from_mirror": 0, "downloaded": 0, "rejected": 0, "bytes": 0}
    for book in books:
        try:
            record, retrieved, size = read_book(book, params.mirror, params.url_template)
        except (GutenbergError, OSError) as e:  # requests' errors are OSErrors too
            log.warning("rejected book %s: %s", book.id, e)
            rejects.append(
                {
                    "stage": "ingest_gutenberg",
                    "id": f"gutenberg:{book.id}",
                    "reason": type(e).__name__,
                    "detail": str(e),
                    "path": str(Path(params.mirror) / book.path),
                }
            )
            counts["rejected"] += 1
            continue
        counts["books"] += 1
        counts[{"mirror": "from_mirror", "download": "downloaded"}[retrieved]] += 1
        counts["bytes"] += size
        records.append(record)
    write_jsonl(OUT, records)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, counts)
    log.info("%d books, %d rejected", counts["books"], counts["rejected"])
    return 0 if records else 1


if __name__ == "__main__":
    sys.exit(main())
