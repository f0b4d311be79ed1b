"""Text normalization shared by every source: HTML, unicode, quotes, whitespace, markup."""

from __future__ import annotations

import html.parser
import re

import ftfy

_WS = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# [Satire], (VIDEO), {OC}: bracketed tags that sources prepend or append to headlines.
_BRACKET_TAG = re.compile(r"\s*[\[\(\{][^\]\)\}]{0,40}[\]\)\}]\s*")
# " | Coronavirus pandemic News": a publisher suffix pasted after the headline.
_PIPE_SUFFIX = re.compile(r"\s+\|\s+[^|]*$")
_HTML_HINT = re.compile(r"<[a-zA-Z/!][^>]*>|&[a-zA-Z#][a-zA-Z0-9]{1,8};")
# Gutenberg marks italics as _word_; the underscores are markup, not text.
_ITALICS = re.compile(r"(?<!\w)_(\S(?:.*?\S)?)_(?!\w)", re.DOTALL)


class _TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div", "li"):
            self.parts.append("\n")


def strip_html(text: str) -> str:
    """Tags removed and entities decoded, with the stdlib HTML parser (no regex soup)."""
    if not _HTML_HINT.search(text):
        return text
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def normalize(text: str) -> str:
    """ftfy (mojibake, NFC, curly quotes to straight), then one space between words.

    Newlines survive as paragraph structure; runs of blank lines become one blank line.
    """
    text = ftfy.fix_text(text, uncurl_quotes=True, fix_line_breaks=True)
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def unwrap(paragraph: str) -> str:
    """A hard-wrapped paragraph as one line, italics markup removed."""
    return _ITALICS.sub(r"\1", " ".join(paragraph.split()))


def clean_headline(text: str) -> str:
    """A headline without URLs, bracketed tags or a publisher suffix, on one line."""
    text = _URL.sub(" ", text)
    text = _BRACKET_TAG.sub(" ", text)
    text = _PIPE_SUFFIX.sub("", text)
    return " ".join(text.split())
