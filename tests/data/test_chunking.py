import pytest

from twainlora.data.chunking import (
    ChunkParams,
    Unit,
    chunk_units,
    split_before_capitals,
    split_long,
)


def units(sizes):
    return [Unit(f"u{i}", n, f"p{i}") for i, n in enumerate(sizes)]


def test_params_validate():
    with pytest.raises(ValueError):
        ChunkParams(max_tokens=100, overlap_min=50, overlap_max=120)


def test_chunks_respect_the_limit_and_overlap_within_bounds():
    params = ChunkParams(max_tokens=512, overlap_min=128, overlap_max=256)
    chunks = chunk_units(units([100] * 20), params)
    for chunk in chunks:
        assert sum(u.tokens for u in chunk) <= 512
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        shared = [u for u in nxt if u in prev]
        assert 128 <= sum(u.tokens for u in shared) <= 256
        assert nxt[: len(shared)] == prev[-len(shared) :]  # the overlap is the previous tail
    # every unit is covered, in order
    seen = [u.text for c in chunks for u in c]
    assert sorted(set(seen), key=lambda t: int(t[1:])) == [f"u{i}" for i in range(20)]


def test_every_chunk_brings_new_text_even_when_units_are_big():
    chunks = chunk_units(units([300, 300, 300]), ChunkParams(512, 128, 256))
    assert [[u.text for u in c] for c in chunks] == [["u0"], ["u1"], ["u2"]]


def test_a_unit_over_the_limit_is_its_own_chunk():
    chunks = chunk_units(units([50, 900, 50]), ChunkParams(512, 0, 100))
    assert [[u.text for u in c] for c in chunks] == [["u0"], ["u1"], ["u2"]]


def test_split_long_cuts_at_sentence_boundaries():
    text = 'He came. "Why?" she asked. It was late! The end.'
    # A quote followed by its lower-case attribution is one sentence.
    assert split_before_capitals(text) == [
        "He came.",
        '"Why?" she asked.',
        "It was late!",
        "The end.",
    ]
    count = lambda xs: [len(x.split()) for x in xs]  # noqa: E731
    parts = split_long(Unit(text, 10, "p"), 5, count)
    assert [p.text for p in parts] == ['He came. "Why?" she asked.', "It was late! The end."]
    assert all(p.parent == "p" for p in parts)


def test_chunk_books_never_crosses_a_section_and_keeps_provenance():
    from twainlora.data.chunking import ChunkParams, chunk_books, size_metrics, whole

    def para(i, section, words):
        meta = {"gutenberg_id": 7, "section": section, "paragraph": i, "tokens": words}
        return {"id": f"g:7:p{i}", "text": "w " * words, "source": "gutenberg", "meta": meta}

    records = [para(0, 0, 6), para(1, 0, 6), para(2, 1, 6)]
    count = lambda texts: [len(t.split()) for t in texts]  # noqa: E731
    out = chunk_books(records, ChunkParams(max_tokens=12, overlap_min=0, overlap_max=6), count)
    assert [(r["id"], r["meta"]["parents"]) for r in out] == [
        ("gutenberg:7:s0000c000", ["g:7:p0", "g:7:p1"]),
        ("gutenberg:7:s0001c000", ["g:7:p2"]),
    ]
    assert out[0]["meta"]["passage"] == "gutenberg:7:s0000" and "paragraph" not in out[0]["meta"]
    headline = whole(
        {"id": "r:1", "text": "Man Bites Dog", "source": "reddit", "meta": {"tokens": 4}}
    )
    assert headline["meta"]["parents"] == ["r:1"] and headline["meta"]["passage"] == "r:1"
    assert size_metrics(out + [headline])["gutenberg"] == {
        "chunks": 2,
        "tokens_total": 18,
        "tokens_median": 9.0,
        "tokens_max": 12,
    }
