"""Boilerplate and front/back matter removal on every shipped book of the real mirror."""

import re

import pytest
import yaml

from twainlora.data.books import load_books
from twainlora.data.gutenberg import (
    cut_to_bounds,
    decode,
    paragraph_drop_reason,
    paragraphs,
    strip_boilerplate,
)

from conftest import ROOT, SHARED_CORPORA, shipped_params

PARAMS = shipped_params()
BOOKS = load_books(ROOT / PARAMS["books"])
LEFTOVERS = re.compile(
    r"project gutenberg|gutenberg-tm|\*\*\* ?(start|end) of|full project gutenberg license",
    re.IGNORECASE,
)
FRONT_MATTER = re.compile(
    r"^(produced by|contents\.?$|list of illustrations|index\.?$|transcriber)", re.IGNORECASE
)


def test_both_stages_read_the_books_file_and_depend_on_it():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name in ("ingest_gutenberg", "clean"):
        assert "${books}" in stages[name]["deps"] and "books" in stages[name]["params"]


def test_every_listed_book_has_bounds():
    assert [b.id for b in BOOKS if b.body is None] == []


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: str(b.id))
def test_body_is_exactly_the_authors_text(book):
    path = SHARED_CORPORA / book.path
    text = decode(path.read_bytes(), str(path))
    body = cut_to_bounds(strip_boilerplate(text, book.path), book.body, book.path)
    lines = [ln.strip() for ln in body.split("\n") if ln.strip()]
    assert lines[0] == book.body.start and lines[-1] == book.body.end
    assert LEFTOVERS.search(body) is None, LEFTOVERS.search(body).group(0)
    kept = [p for p in paragraphs(body) if paragraph_drop_reason(p) is None]
    # (a "CONTENTS." heading inside a body, as in 48138's Historical Review, is dropped as a heading)
    assert [p for p in kept if FRONT_MATTER.match(p.strip())] == []
    assert len(kept) > 50 or book.id in (43855, 11231)  # the two short books
