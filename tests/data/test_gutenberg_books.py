"""Boilerplate and front/back matter removal on every shipped book of the real mirror."""

import re

import pytest

from twainlora.data.gutenberg import (
    BodyBounds,
    cut_to_bounds,
    decode,
    paragraph_drop_reason,
    paragraphs,
    strip_boilerplate,
)

from conftest import SHARED_CORPORA, shipped_params

PARAMS = shipped_params()
BOOKS = PARAMS["ingest_gutenberg"]["books"]
BOUNDS = PARAMS["clean"]["body_bounds"]
LEFTOVERS = re.compile(
    r"project gutenberg|gutenberg-tm|\*\*\* ?(start|end) of|full project gutenberg license",
    re.IGNORECASE,
)
FRONT_MATTER = re.compile(
    r"^(produced by|contents\.?$|list of illustrations|index\.?$|transcriber)", re.IGNORECASE
)


def test_every_listed_book_has_bounds():
    assert sorted(b["id"] for b in BOOKS) == sorted(BOUNDS)


@pytest.mark.parametrize("book", BOOKS, ids=lambda b: str(b["id"]))
def test_body_is_exactly_the_authors_text(book):
    path = SHARED_CORPORA / book["path"]
    text = decode(path.read_bytes(), str(path))
    body = cut_to_bounds(
        strip_boilerplate(text, book["path"]), BodyBounds(**BOUNDS[book["id"]]), book["path"]
    )
    lines = [ln.strip() for ln in body.split("\n") if ln.strip()]
    assert lines[0] == BOUNDS[book["id"]]["start"] and lines[-1] == BOUNDS[book["id"]]["end"]
    assert LEFTOVERS.search(body) is None, LEFTOVERS.search(body).group(0)
    kept = [p for p in paragraphs(body) if paragraph_drop_reason(p) is None]
    # (a "CONTENTS." heading inside a body, as in 48138's Historical Review, is dropped as a heading)
    assert [p for p in kept if FRONT_MATTER.match(p.strip())] == []
    assert len(kept) > 50 or book["id"] in (43855, 11231)  # the two short books
