"""The books file (configs/books.yaml): one entry per Gutenberg book, its provenance and body
bounds together, read by ingest_gutenberg and clean; and a book read into its raw record."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.params import ParamsError, load_params
from twainlora.data.gutenberg import BodyBounds, decode, download

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Book:
    id: int  # the Project Gutenberg ebook number
    year: int  # first publication of the work
    author: str
    title: str
    path: str  # relative to the mirror
    # Exact first and last body line; None: the whole body, apparatus paragraphs dropped only
    body: BodyBounds | None = None


def load_books(path: str | Path) -> tuple[Book, ...]:
    """The `books` list of the file at `path`; a repeated id or path is an error (the second
    entry would silently shadow the first's bounds, or ingest one file twice)."""
    books = load_params("books", list[Book], path)
    for key in ("id", "path"):
        repeated = sorted(v for v, n in Counter(getattr(b, key) for b in books).items() if n > 1)
        if repeated:
            raise ParamsError(f"{path}:books: {key} repeated: {repeated}")
    return books


def read_book(book: Book, mirror: str | Path, url_template: str) -> tuple[dict, str, int]:
    """The raw record of a book (its decoded text, headers intact, and provenance), read from
    the mirror or, when the mirror lacks it, downloaded; with where it came from ("mirror" or
    "download") and its size in bytes. GutenbergError or OSError when it cannot be read."""
    path = Path(mirror) / book.path
    if path.exists():
        raw, retrieved = path.read_bytes(), "mirror"
    else:
        url = url_template.format(id=book.id)
        log.info("%s not in the mirror; downloading %s", path, url)
        raw, retrieved = download(url), "download"
    text = decode(raw, str(path))
    record = {
        "id": f"gutenberg:{book.id}",
        "text": text,
        "source": "gutenberg",
        "meta": {
            "gutenberg_id": book.id,
            "author": book.author,
            "title": book.title,
            "year": book.year,
            "url": f"https://www.gutenberg.org/ebooks/{book.id}",
            "license": "public-domain",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "retrieved": retrieved,
            "mirror_path": book.path,
        },
    }
    return record, retrieved, len(raw)
