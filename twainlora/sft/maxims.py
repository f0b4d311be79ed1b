"""Real maxims in the corpus: the Pudd'nhead Wilson's Calendar epigraphs that head Twain's
chapters, and the sayings Franklin quotes as Poor Richard's ("..., as Poor Richard says").

The instruct stage asks for them (aphorism pairs); the tool episodes answer "a bit of
wisdom" with them.
"""

from __future__ import annotations

import re

PUDDNHEAD = re.compile(
    r"([^\n]{12,400}?)\s*[-\u2014]{1,2}\s*Pudd'nhead Wilson's (?:New )?Calendar\.?"
)
# '"God helps them that help themselves," as Poor Richard says.' in The Way to Wealth.
POOR_RICHARD = re.compile(
    r'"([^"]{15,160}?)[,.!?]?"\s*,?\s*as Poor Richard (?:\w+ )?says', re.IGNORECASE
)


def poor_richard_sayings(text: str) -> list[str]:
    """Each saying quoted as Poor Richard's, capitalized, without its closing punctuation."""
    return [f"{m.group(1)[:1].upper()}{m.group(1)[1:]}" for m in POOR_RICHARD.finditer(text)]


def maxims(record: dict) -> list[str]:
    """Real maxims in a passage: Pudd'nhead Wilson's Calendar epigraphs, Poor Richard's sayings."""
    text = record["text"]
    found = []
    # The substring tests first: the patterns backtrack over every position of a passage.
    if "Pudd'nhead Wilson's" in text:
        found += [m.group(1).strip(" -\u2014") for m in PUDDNHEAD.finditer(text)]
    if "Poor Richard" in text:
        found += [f"{saying}." for saying in poor_richard_sayings(text)]
    return [m for m in found if 3 <= len(m.split()) <= 60]
