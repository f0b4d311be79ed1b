"""plainify: dialect and archaic words, typography, asides and length, on small hand-made
inputs with exact outputs, and on real Huckleberry Finn paragraphs from the corpus mirror."""

import re

import pytest

from twainlora.sft.plainify import (
    load_dialect_lexicon,
    load_plain_words,
    looks_like_dialect,
    plainify,
    plainness_report,
    shorten,
    split_keeping_titles,
)

from conftest import SHARED_CORPORA

HUCK = SHARED_CORPORA / "gutenberg" / "twain" / "76_huckleberry_finn.txt"


def huck_paragraphs() -> list[str]:
    """Raw paragraphs of the novel (wrapped, curly quotes, _italics_), preface onwards."""
    if not HUCK.exists():
        pytest.skip(f"{HUCK} is not mirrored here")
    text = HUCK.read_text("utf-8-sig").replace("\r\n", "\n")
    body = text[text.index("*** START") : text.index("*** END")]
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]
    start = next(i for i, p in enumerate(paragraphs) if p.startswith("YOU don't know about me"))
    return paragraphs[start:]


def test_lexicon_parses_with_flags_and_normalized_keys():
    lexicon = load_dialect_lexicon()
    words = load_plain_words()
    assert 300 <= len(words) <= 600
    assert words["warn't"] == "wasn't" and words["'tis"] == "it is" and words["publick"] == "public"
    assert all(k == k.lower().strip() and "\u2019" not in k for k in words)
    assert "dat" in lexicon.markers and "de" in lexicon.dialect_only
    assert not lexicon.markers & lexicon.dialect_only
    # The loader returns a copy: a caller's edit must not leak into the next plainify call.
    words["warn't"] = "was"
    assert plainify("It warn't.") == "It wasn't."


def test_dialect_words_keep_their_case():
    assert plainify("Warn't it so? WARN'T it? He warn't there.") == (
        "Wasn't it so? WASN'T it? He wasn't there."
    )
    assert plainify("'Em and 'em, 'Tis and 'tis.") == "Them and them, It is and it is."
    # The curly apostrophe of a typeset edition matches like the straight one.
    assert plainify("He warn\u2019t there.") == "He wasn't there."


def test_multi_word_entries_win_over_single_words():
    assert plainify("I ain't sure, and it ain't so.") == "I am not sure, and it isn't so."
    assert plainify("Thou art wise, and thy words\nare true.") == (
        "You are wise, and your words are true."
    )
    assert plainify("He was a-going home, a-comin' back. A-going!") == (
        "He was going home, coming back. Going!"
    )
    # Not a participle: the "A-" of Huck's "A-rabs" stays.
    assert plainify("The A-rabs came.") == "The A-rabs came."


def test_de_is_left_alone_outside_dialect():
    assert plainify("Coup de grace, said the Comte de Paris.") == (
        "Coup de grace, said the Comte de Paris."
    )
    assert not looks_like_dialect("Coup de grace en route.")
    # Jim's speech: "dat" is an unambiguous marker, so "de" and "ax" are dialect too.
    assert looks_like_dialect("What's de use to ax dat question?")
    assert plainify("\u201cWhat's de use to ax dat question?  Don't you see I has?\u201d") == (
        "\"What's the use to ask that question? Don't you see I have?\""
    )
    assert plainify("I ain' gwyne to spen' it, en de dream tole me.") == (
        "I am not going to spend it, and the dream told me."
    )


def test_spelling_rules_for_dropped_g_elided_ed_and_double_negatives():
    assert plainify("I was goin' there, mornin' and evenin'.") == (
        "I was going there, morning and evening."
    )
    # A closing quote after "Britain" or "again" is not a dropped g.
    assert plainify("'He went to Britain' and came back again'") == (
        "'He went to Britain' and came back again'"
    )
    assert plainify("He propos'd it; I apply'd; he'd go, how'd you know?") == (
        "He proposed it; I applied; he'd go, how'd you know?"
    )
    assert plainify("They don't know nothing, and I didn't care no more. No, I didn't say no.") == (
        "They don't know anything, and I didn't care any more. No, I didn't say no."
    )
    assert plainify("It was mighty good, real beautiful, his real name, the mighty river.") == (
        "It was very good, really beautiful, his real name, the mighty river."
    )


def test_typography():
    assert plainify("Pens, ink, &c. were _all_ there[1].  He came--and went.") == (
        "Pens, ink, etc. were all there. He came, and went."
    )
    assert plainify("\u201cHello,\u201d he said \u2018twice\u2019.") == (
        "\"Hello,\" he said 'twice'."
    )
    # A dash after a sentence end adds nothing; one that breaks off speech ends it.
    assert plainify('as Poor Richard says.--"But, how much?" Then--') == (
        'as Poor Richard says. "But, how much?" Then.'
    )
    assert plainify('"I--" he said.') == '"I," he said.'
    assert plainify("One line\nand  the   next.") == "One line and the next."


def test_asides_and_interjections_are_removed():
    assert plainify("He said (quietly) that [so he claimed] the thing--a small one--was done.") == (
        "He said that the thing was done."
    )
    assert plainify("He left (after a while (a long one)).") == "He left."
    assert plainify("Well, well, it's over. \u201cWhy, yes, Tom.\u201d") == (
        'It\'s over. "Yes, Tom."'
    )
    # Without their comma these open real clauses.
    assert plainify("Why did he go? Now the king spoke.") == "Why did he go? Now the king spoke."
    assert plainify("[Illustration: The Raft]") == ""


def test_max_words_keeps_whole_leading_sentences():
    text = "One two three. Four five six seven. Eight."
    assert plainify(text, max_words=5) == "One two three."
    assert plainify(text, max_words=7) == "One two three. Four five six seven."
    assert plainify(text, max_words=100) == text
    # A first sentence over the budget is cut at a word, closed with a period (and a quote).
    assert plainify("One two three four five six, seven.", max_words=5) == (
        "One two three four five."
    )
    assert plainify('"One two, three four."', max_words=2) == '"One two."'
    assert plainify('"Yes. You know him? He said so."', max_words=4) == '"Yes. You know him?"'
    assert split_keeping_titles("Mr. Wilks said so. W. and T. Darton sold it. Says I.") == [
        "Mr. Wilks said so.",
        "W. and T. Darton sold it.",
        "Says I.",
    ]
    with pytest.raises(ValueError):
        shorten(text, 0)


def test_plainness_report():
    assert plainness_report("a b c", "a b c") == {
        "original_words": 3,
        "plain_words": 3,
        "changed_words": 0,
        "word_jaccard": 1.0,
    }
    report = plainness_report("He warn't there, warn't he?", "He wasn't there, wasn't he?")
    assert report["changed_words"] == 2
    assert report["word_jaccard"] == pytest.approx(2 / 4)
    assert plainness_report("", "")["word_jaccard"] == 1.0


def test_deterministic():
    text = "\u201cWell, I 'uz gwyne to spen' it--en de dream tole me (dat's so) to give it.\u201d"
    first = plainify(text, max_words=9)
    load_dialect_lexicon.cache_clear()
    assert plainify(text, max_words=9) == first == '"I was going to spend it, and the dream."'


def test_real_huck_finn_paragraphs_all_change():
    # The first 20 paragraphs of 40+ words from Chapter I on: Huck's narration and dialogue.
    paragraphs = [p for p in huck_paragraphs() if len(p.split()) >= 40][:20]
    assert len(paragraphs) == 20
    for paragraph in paragraphs:
        plain = plainify(paragraph)
        assert plain and "\n" not in plain
        assert plainness_report(paragraph, plain)["word_jaccard"] < 1.0, paragraph


def test_real_jim_paragraphs_lose_their_dialect():
    paragraphs = [p for p in huck_paragraphs() if re.search(r"\b(?:dat|dey|gwyne|wuz)\b", p)]
    assert len(paragraphs) >= 20
    for paragraph in paragraphs[:20]:
        plain = plainify(paragraph)
        assert plain and plainness_report(paragraph, plain)["word_jaccard"] < 0.95, paragraph
        assert not re.search(r"\b(?:de|dat|dey|gwyne|wuz)\b", plain, re.I), plain


def test_most_real_huck_finn_paragraphs_change():
    # Not all: some of Huck's narration is plain English already ("Then they all stuck a pin
    # in their fingers..."). Every fifth paragraph of 20+ words; 80% changed when written.
    sample = [p for p in huck_paragraphs() if len(p.split()) >= 20][::5]
    changed = sum(plainness_report(p, plainify(p))["word_jaccard"] < 1.0 for p in sample)
    assert changed / len(sample) >= 0.75
