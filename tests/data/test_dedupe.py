import pytest

from twainlora.data.dedupe import (
    MinHashParams,
    duplicate_pairs,
    jaccard,
    keeper_rank,
    shingles,
    words,
)

P = MinHashParams()


def test_shingles_ignore_case_and_punctuation():
    assert words("Don't PANIC, it's \u201conly\u201d rain!") == [
        "don't",
        "panic",
        "it's",
        "only",
        "rain",
    ]
    assert shingles("Rain, rain!", 3) == frozenset(["rain rain"])
    assert shingles("a b c d", 3) == frozenset(["a b c", "b c d"])
    assert shingles("...", 3) == frozenset()


def test_jaccard():
    assert jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)
    assert jaccard(frozenset(), frozenset()) == 1.0


def test_params_reject_more_bands_than_permutations():
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashParams(num_perm=64, bands=32, rows=4)
    assert P.lsh_midpoint == pytest.approx((1 / 32) ** 0.25)
    assert P.candidate_probability(0.7) > 0.999


BASE = (
    "The river was wide and brown that morning and the steamboat came around the bend "
    "with its bell ringing the way a steamboat always does when it wants the town to know"
)


def test_finds_exact_and_edited_copies_but_not_different_texts():
    edited = BASE.replace("brown", "muddy")  # one word: Jaccard about 0.8
    texts = [
        BASE,
        "Completely different words about the weather in London during a wet July " * 2,
        BASE.upper() + "!",
        edited,
    ]
    pairs = duplicate_pairs(texts, P)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2), (0, 3), (2, 3)]
    assert pairs[0][2] == 1.0
    assert 0.7 <= pairs[1][2] < 1.0


def test_below_threshold_is_not_a_duplicate():
    many_edits = BASE
    for old, new in [("river", "lake"), ("morning", "evening"), ("bell", "horn"), ("town", "city")]:
        many_edits = many_edits.replace(old, new)
    assert jaccard(shingles(BASE, 3), shingles(many_edits, 3)) < 0.7
    assert duplicate_pairs([BASE, many_edits], P) == []


def test_keeper_rank_prefers_listed_sources_then_longest_then_score():
    prefer = ["reddit:hrobbins_"]
    a = {"id": "reddit:onionornot:000001", "text": "longer text here", "meta": {}}
    b = {"id": "reddit:hrobbins_theonion:000009", "text": "short", "meta": {"score": 3}}
    c = {"id": "reddit:hrobbins_theonion:000002", "text": "short", "meta": {"score": 9}}
    assert sorted([a, b, c], key=lambda r: keeper_rank(r, prefer)) == [c, b, a]
