"""The clean stage's steps: book paragraphs, headline records, the batched filters, metrics."""

from twainlora.data.cleaning import (
    book_candidates,
    counts_by_source,
    filter_candidates,
    headline_candidates,
)
from twainlora.data.gutenberg import BodyBounds

BOOK = {
    "id": "gutenberg:7",
    "source": "gutenberg",
    "text": (
        "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nTitle page\n\n"
        "CHAPTER I\n\nThe first real paragraph of the book.\n\n"
        "The second real paragraph, and the last.\n\nINDEX\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK X ***\n"
    ),
    "meta": {"gutenberg_id": 7, "author": "A", "title": "T", "mirror_path": "7.txt"},
}
BOUNDS = BodyBounds("CHAPTER I", "The second real paragraph, and the last.")


def words(texts):
    return [len(t.split()) for t in texts]


def test_book_candidates_cut_to_bounds_and_reject_headings():
    rejects = []
    out = book_candidates([BOOK], {7: BOUNDS}, words, 1, rejects)
    assert [r["text"] for r in out] == [
        "The first real paragraph of the book.",
        "The second real paragraph, and the last.",
    ]
    assert [r["reason"] for r in rejects] == ["heading"]
    assert out[0]["id"] == "gutenberg:7:p00001" and out[0]["meta"]["section"] == 1


def test_a_bound_that_is_not_there_rejects_the_book():
    rejects = []
    bounds = {7: BodyBounds("No such line", "INDEX")}
    assert book_candidates([BOOK], bounds, words, 1, rejects) == []
    assert [r["reason"] for r in rejects] == ["book_unreadable"]


def test_headlines_cleaned_and_empty_ones_rejected():
    rejects = []
    records = [
        {"id": "r:1", "source": "reddit", "text": "<b>Man Bites Dog</b>", "meta": {}},
        {"id": "r:2", "source": "reddit", "text": "<br>", "meta": {}},
    ]
    assert [r["text"] for r in headline_candidates(records, rejects)] == ["Man Bites Dog"]
    assert [(r["id"], r["reason"]) for r in rejects] == [("r:2", "empty_after_cleaning")]


def test_filters_in_turn_with_one_reason_per_reject():
    seen = []

    def no_cats(texts):
        seen.extend(texts)
        return [("cats", "") if "cat" in t else None for t in texts]

    records = [
        {"id": str(i), "source": "s", "text": t, "meta": {}}
        for i, t in enumerate(["a cat sat", "one", "a dog sat", "a cat and a dog sat on it"])
    ]
    rejects = []
    kept = filter_candidates(
        records, words, lambda n: ("too_short", "") if n < 2 else None, [no_cats], 3, rejects
    )
    assert [(r["id"], r["meta"]["tokens"]) for r in kept] == [("2", 3)]
    assert [(r["id"], r["reason"]) for r in rejects] == [
        ("0", "cats"),
        ("1", "too_short"),
        ("3", "cats"),
    ]
    assert "one" not in seen
    assert counts_by_source(kept, rejects) == {
        "s": {"kept": 1, "dropped": {"cats": 2, "too_short": 1}, "dropped_total": 3}
    }
