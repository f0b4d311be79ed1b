"""A deterministic "plainifier": 18th- and 19th-century prose to plain modern English.

It builds the neutral side of a style-imitation pair (user: a plain paraphrase, asking for a
rewrite in the author's voice; assistant: the original passage), so the prompt is never the
target text itself. Four steps, in order, each its own function:

1. ``modernize_words``: dialect, eye-dialect and archaic words to standard English from the
   lexicon ``twainlora/lexicons/plain_words.tsv`` (Huck's "warn't", Jim's "gwyne", Franklin's
   "hath", "publick", "propos'd"), keeping the case of each word;
2. ``strip_typography``: "&c.", doubled dashes, _italics_, "[1]" footnote marks, curly quotes;
3. ``simplify``: parenthetical, bracketed and dash-delimited asides, and sentence-opening
   interjections ("Well, ", "Why, ");
4. ``shorten``: whole leading sentences up to a word budget.

Limits: it works word by word, with no parser and no model. It does not reorder syntax, so
the output still reads as the original's sentences with plainer words ("I am not going to
spend it" for "I ain' gwyne to spen' it"); it skips words whose plain meaning depends on
context ("allowed", "powerful"); and a Franklin paragraph with no archaic spellings or asides
can come back nearly unchanged. Callers should check ``plainness_report`` before using an
output as the neutral side of a pair.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# A passage "looks like dialect" when it has at least this many dialect hits, at least one of
# them an unambiguous marker ("dat", "gwyne"). "Coup de grace" has no marker, so "de" stays;
# Jim's shortest lines ("What's de use to ax dat question?") still qualify.
DIALECT_MIN_HITS = 2
DIALECT_MIN_MARKERS = 1

_APOS = "['\u2019]"
# Not inside a word: no letter or digit before, and no letter + apostrophe before either, so
# "er" in "o'er" or "em" in "them'em" never match on their own.
_WORD_START = r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]['\u2019])"
_WORD_END = r"(?![A-Za-z0-9])"


@dataclass(frozen=True, eq=False)
class DialectLexicon:
    """The parsed plain_words.tsv: every replacement, which entries are dialect markers and
    which apply only in dialect passages, and one regex that finds any entry."""

    words: dict[str, str]
    markers: frozenset[str]
    dialect_only: frozenset[str]
    pattern: re.Pattern[str]


def _normalize_key(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").strip()).lower()


@lru_cache(maxsize=1)
def load_dialect_lexicon() -> DialectLexicon:
    """Parse twainlora/lexicons/plain_words.tsv (old<TAB>new[<TAB>marker|dialect])."""
    path = resources.files("twainlora.lexicons").joinpath("plain_words.tsv")
    words: dict[str, str] = {}
    markers: set[str] = set()
    dialect_only: set[str] = set()
    for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3) or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"plain_words.tsv:{lineno}: expected old<TAB>new[<TAB>flag]")
        old = _normalize_key(fields[0])
        if old in words:
            raise ValueError(f"plain_words.tsv:{lineno}: duplicate entry {old!r}")
        words[old] = fields[1].strip()
        flag = fields[2].strip() if len(fields) == 3 else ""
        if flag == "marker":
            markers.add(old)
        elif flag == "dialect":
            dialect_only.add(old)
        elif flag:
            raise ValueError(f"plain_words.tsv:{lineno}: unknown flag {flag!r}")
    return DialectLexicon(
        words, frozenset(markers), frozenset(dialect_only), _lexicon_pattern(words)
    )


def load_plain_words() -> dict[str, str]:
    """Every lexicon entry, old -> new (keys lower-case, straight apostrophes)."""
    return dict(load_dialect_lexicon().words)


def _lexicon_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    # Longest first: Python's alternation takes the first branch that matches, and "i ain't"
    # must win over "ain't", "dey's a" over "dey's" over "dey".
    alternatives = []
    for key in sorted(keys, key=lambda k: (-len(k), k)):
        parts = [re.escape(part).replace("'", _APOS) for part in key.split(" ")]
        alternatives.append(r"\s+".join(parts))
    return re.compile(_WORD_START + "(?:" + "|".join(alternatives) + ")" + _WORD_END, re.I)


def match_case(source: str, replacement: str) -> str:
    """Give ``replacement`` the case pattern of ``source``: lower, Capitalized or UPPER."""
    letters = [c for c in source if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    if letters and letters[0].isupper():
        for i, c in enumerate(replacement):
            if c.isalpha():
                return replacement[:i] + c.upper() + replacement[i + 1 :]
    return replacement


def looks_like_dialect(text: str, lexicon: DialectLexicon | None = None) -> bool:
    """True when ``text`` has enough dialect words that ambiguous ones ("de") are dialect too."""
    lexicon = lexicon or load_dialect_lexicon()
    hits = markers = 0
    for m in lexicon.pattern.finditer(text):
        key = _normalize_key(m.group(0))
        if key in lexicon.markers:
            markers += 1
            hits += 1
        elif key in lexicon.dialect_only:
            hits += 1
    return markers >= DIALECT_MIN_MARKERS and hits >= DIALECT_MIN_HITS


def modernize_words(text: str, lexicon: DialectLexicon | None = None) -> str:
    """Step 1: dialect and archaic words to standard English, keeping each word's case.

    Lexicon entries first, then rules the lexicon cannot list word by word: the "a-" of
    "a-going", the dropped g of "goin'", Franklin's elided "-ed" ("propos'd"), Twain's
    intensifiers ("mighty good") and double negatives ("don't know nothing").
    """
    lexicon = lexicon or load_dialect_lexicon()
    dialect = looks_like_dialect(text, lexicon)

    def replace(m: re.Match[str]) -> str:
        key = _normalize_key(m.group(0))
        if key in lexicon.dialect_only and not dialect:
            return m.group(0)
        return match_case(m.group(0), lexicon.words[key])

    text = lexicon.pattern.sub(replace, text)
    text = _drop_a_prefix(text)
    text = _restore_dropped_g(text)
    text = _expand_elided_ed(text)
    text = _plain_intensifiers(text)
    return _fix_double_negatives(text)


# "a-going", "a-comin'": the prefix only before a present participle, so "A-rabs" stays.
_A_PREFIX = re.compile(
    _WORD_START + r"([aA])-([A-Za-z])(?=[A-Za-z]*(?:ing|in['\u2019])" + _WORD_END + ")"
)


def _drop_a_prefix(text: str) -> str:
    # "A-going" opens a sentence, so "Going" keeps the capital.
    return _A_PREFIX.sub(lambda m: m.group(2).upper() if m.group(1) == "A" else m.group(2), text)


# A stem of two or more letters not ending in "a": "ain'", "again'", "Britain'" (a closing
# quote after "Britain") and "twain'" are not dropped g's; one-letter stems are "kin'", "win'".
_DROPPED_G = re.compile(_WORD_START + r"([A-Za-z]*[b-zB-Z])in['\u2019]" + _WORD_END)


def _restore_dropped_g(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        stem = m.group(1)
        if len(stem) < 2:
            return m.group(0)
        return stem + ("ING" if stem.isupper() else "ing")

    return _DROPPED_G.sub(replace, text)


# "he'd", "how'd", "dey'd" are contractions of "had"/"would", not elided "-ed" endings.
_CONTRACTION_STEMS = frozenset(
    "i you he she it we they who what where wher whar how that there this here why when dey "
    "dat nobody somebody everybody anybody which".split()
)
_ELIDED_ED = re.compile(_WORD_START + r"([A-Za-z]{2,})['\u2019]d" + _WORD_END)


def _expand_elided_ed(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        stem = m.group(1)
        if stem.lower() in _CONTRACTION_STEMS:
            return m.group(0)
        if stem[-1] in "yY" and stem[-2].lower() not in "aeiou":
            return stem[:-1] + "ied"  # "apply'd", "dy'd"
        return stem + "ed"

    return _ELIDED_ED.sub(replace, text)


# "mighty", "powerful", "awful" are adverbs only before an adjective ("mighty good", but "the
# mighty river", "a powerful man"), and "real" too ("real beautiful", but "his real name"), so
# they change only before the adjectives of this closed list, all seen after them in Twain.
_INTENSIFIED = (
    "bad beautiful big bully cheap close curious dark dead easy friendly gay glad good hard "
    "high hot kind long lonesome mean mellow mysterious near nice particular poor quick quiet "
    "sick silly slim slow small smart snug soon sorry still strong sure swell thankful thick "
    "tired uneasy warm well"
)
_INTENSIFIER = re.compile(
    _WORD_START
    + r"(mighty|powerful|awful|monstrous|real|tolerable)(\s+)(?=(?:"
    + "|".join(_INTENSIFIED.split())
    + r")"
    + _WORD_END
    + ")",
    re.I,
)
_PLAIN_INTENSIFIER = {"real": "really", "tolerable": "fairly"}


def _plain_intensifiers(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        plain = _PLAIN_INTENSIFIER.get(m.group(1).lower(), "very")
        return match_case(m.group(1), plain) + m.group(2)

    return _INTENSIFIER.sub(replace, text)


# A negated verb, then, later in the same clause, a second negative: "I don't take no stock",
# "they don't know nothing about it", "didn't never". The second one becomes its positive.
_NEGATION = re.compile(r"(?i)(?:\b[a-z]+n['\u2019]t|\bnever|\bnot|\bcannot)\b")
_SECOND_NEGATIVE = re.compile(
    r"(?i)\b(?:nothing|nobody|nowhere|none|neither|never|nor|no(?=\s+[a-z]))\b"
)
_POSITIVE = {
    "nothing": "anything",
    "nobody": "anybody",
    "nowhere": "anywhere",
    "none": "any",
    "neither": "either",
    "never": "ever",
    "nor": "or",
    "no": "any",
}
_CLAUSE = re.compile('[^,.;:!?"()\u2014-]+')


def _fix_double_negatives(text: str) -> str:
    def fix_clause(m: re.Match[str]) -> str:
        clause = m.group(0)
        negation = _NEGATION.search(clause)
        if negation is None:
            return clause
        head, tail = clause[: negation.end()], clause[negation.end() :]
        tail = _SECOND_NEGATIVE.sub(
            lambda n: match_case(n.group(0), _POSITIVE[n.group(0).lower()]), tail
        )
        return head + tail

    return _CLAUSE.sub(fix_clause, text)


# The one dash spelling that strip_typography leaves and simplify reads; any run of two or
# more hyphens, an em dash, a horizontal bar, or a spaced en dash becomes this.
DASH = " \u2014 "
_DASHES = re.compile(r"\s*(?:-{2,}|[\u2014\u2015]+|\s[\u2013-]\s)\s*")


def strip_typography(text: str) -> str:
    """Step 2: "&c." to "etc.", one dash spelling, no _italics_, footnote marks or curly quotes.

    Dashes end up as " \u2014 " here rather than as commas: ``simplify`` needs to see pairs of
    dashes to drop the asides between them, and turns the rest into commas or sentence breaks.
    """
    text = text.replace("\ufeff", "")
    text = re.sub(r"&c\b\.?", "etc.", text)
    text = text.replace("&", "and")
    text = re.sub("[\u201c\u201d\u201e\u00ab\u00bb]", '"', text)
    text = re.sub("[\u2018\u2019\u201a]", "'", text)
    text = _DASHES.sub(DASH, text)
    text = re.sub(r"_+([^_]+?)_+", r"\1", text)
    text = text.replace("_", "")
    # Footnote marks: "[1]", "[12]", "[A]", "[*]" straight after a word or punctuation.
    text = re.sub(r"\s?\[(?:\d{1,3}|[A-Z]|\*+|\u2020)\]", "", text)
    return _collapse_whitespace(text)


def _collapse_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# Sentence-opening interjections that carry tone, not content; only with their comma, since
# "Now the king..." and "Why did he..." open real clauses.
_INTERJECTION = re.compile(
    r"""(^|[.!?]["')]?\s+|["(]\s*)"""
    r"(?:(?:well|why|now|say|oh|o|ah|shucks|lordy|pshaw|looky here|look here),\s+)+"
    r"""(["']?)([A-Za-z])""",
    re.I,
)


def simplify(text: str) -> str:
    """Step 3: drop parenthetical, bracketed and dash-delimited asides and interjections."""
    previous = None
    while previous != text:  # nested brackets come out innermost first
        previous = text
        text = re.sub(r"\s*\([^()]*\)", "", text)
        text = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    # An aside between two dashes inside one sentence; a span that crosses a sentence end or
    # a quotation mark is two separate dashes, not an aside.
    text = re.sub(r"\s*\u2014\s*[^\u2014.!?\";:]{1,150}?\s*\u2014\s*", " ", text)
    text = _drop_interjections(text)
    text = _resolve_dashes(text)
    return _tidy_punctuation(text)


def _drop_interjections(text: str) -> str:
    # What follows now opens the sentence: "Why, it's" -> "It's".
    return _INTERJECTION.sub(lambda m: m.group(1) + m.group(2) + m.group(3).upper(), text)


def _resolve_dashes(text: str) -> str:
    # After a sentence end ("says.--'But") the dash adds nothing.
    text = re.sub(r"""([.!?]["']?)\s*\u2014\s*""", r"\1 ", text)
    # Speech broken off: '"I--" he said' reads as '"I," he said'; at the end of a quote or of
    # the passage it ends the sentence.
    text = re.sub(r"""\s*\u2014\s*(["'])(?=\s+[a-z])""", r",\1", text)
    text = re.sub(r"""\s*\u2014\s*(?:(["'])(?=\s|$)|$)""", lambda m: "." + (m.group(1) or ""), text)
    return re.sub(r"\s*\u2014\s*", ", ", text)


def _tidy_punctuation(text: str) -> str:
    text = _collapse_whitespace(text)
    text = re.sub(r"\s+([,;:.!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]\s*([.!?])", r"\1", text)
    text = re.sub(r"""(^|["(]\s*)[,;:]\s*""", r"\1", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    # A paragraph that led into a quotation or a list ("with this inscription:") now ends there.
    return re.sub(r"\s*[,;:]+$", ".", text)


# A sentence ends at . ! or ? (plus closing quotes/brackets) before a space or the end, except
# after a title or an initial ("Mr.", "W. and T. Darton").
_SENTENCE = re.compile(
    r".+?(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)(?<!\bJr)(?<!\bSr)(?<!\b[A-HJ-Z])"
    r"""[.!?]+["')\]]*(?=\s|$)|.+$"""
)


def split_keeping_titles(text: str) -> list[str]:
    """Sentences of a one-paragraph text, each with its closing punctuation and quotes, never
    cut after a title or an initial: the opening sentence is shown to the user. The chunker's
    twainlora.data.chunking.split_before_capitals cuts differently, and its cuts are fixed by
    the shipped chunks."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def shorten(text: str, max_words: int) -> str:
    """Step 4: whole leading sentences up to ``max_words`` words (at least one sentence).

    A first sentence longer than the budget is cut at a word boundary and closed with a
    period; a quotation left open by the cut gets its closing mark.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    kept: list[str] = []
    count = 0
    for sentence in split_keeping_titles(text):
        n = len(sentence.split())
        if kept and count + n > max_words:
            break
        kept.append(sentence)
        count += n
    if count <= max_words:
        out = " ".join(kept)
    else:
        words = kept[0].split()[:max_words]
        out = " ".join(words).rstrip(",;:.!?-\u2014 \"'") + "."
    # The cut may fall inside a quotation that the dropped sentences would have closed.
    return out + '"' if out.count('"') % 2 else out


def plainify(text: str, *, max_words: int | None = None) -> str:
    """``text`` in plain modern English, as one paragraph; the same input gives the same output.

    ``max_words`` keeps only the leading sentences that fit (see ``shorten``).
    """
    plain = modernize_words(text)
    plain = strip_typography(plain)
    plain = simplify(plain)
    if max_words is not None:
        plain = shorten(plain, max_words)
    return plain


_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def plainness_report(original: str, plain: str) -> dict:
    """How far ``plain`` is from ``original``, to check the neutral side is not the target.

    ``changed_words``: original tokens that were replaced or removed (a word-level diff);
    ``word_jaccard``: Jaccard similarity of the two lower-cased word sets (1.0 = same words).
    """
    a, b = _tokens(original), _tokens(plain)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    kept = sum(block.size for block in matcher.get_matching_blocks())
    sa, sb = set(a), set(b)
    union = sa | sb
    return {
        "original_words": len(a),
        "plain_words": len(b),
        "changed_words": len(a) - kept,
        "word_jaccard": len(sa & sb) / len(union) if union else 1.0,
    }
