"""Project Gutenberg plain texts: decoding, download, boilerplate and front matter removal.

The START/END markers vary across the shipped files (two START lines in 148, `***START`
without a space in 40236, markers wrapped over two lines, a `*** START: FULL LICENSE ***`
block after the END marker), so the patterns below are loose on spacing and article and the
body is taken between the *last* START marker before the first END marker and that END marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twainlora.data.text import normalize, unwrap

_START = re.compile(
    r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^*]*\*{3}[^\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
_END = re.compile(
    r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK", re.IGNORECASE | re.MULTILINE
)
# "End of the Project Gutenberg EBook of ...", "End of Project Gutenberg's ...": the line (and
# its wrapped continuation) just before the END marker.
_END_NOTE = re.compile(r"^End of (?:the )?Project Gutenberg", re.IGNORECASE | re.MULTILINE)
_DECLARED_CHARSET = re.compile(
    r"^Character set encoding:\s*([\w.-]+)", re.IGNORECASE | re.MULTILINE
)


class GutenbergError(ValueError):
    """A book that cannot be cleaned; the message says why and the stage rejects the book."""


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (BOM dropped), else the charset the header declares; CRLF becomes LF.

    An undecodable file is an error naming the file, never a silent lossy decode.
    """
    if not raw.strip():
        raise GutenbergError(f"{name}: empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        head = raw[:4000].decode("ascii", errors="replace")
        declared = _DECLARED_CHARSET.search(head)
        if not declared or declared.group(1).lower().replace("_", "-") in ("utf-8", "utf8"):
            raise GutenbergError(
                f"{name}: not valid UTF-8 (byte {e.start}) and no other charset declared"
            ) from e
        try:
            text = raw.decode(declared.group(1))
        except (LookupError, UnicodeDecodeError) as e2:
            raise GutenbergError(f"{name}: not decodable as declared {declared.group(1)}") from e2
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_boilerplate(text: str, name: str) -> str:
    """The text between the Gutenberg START and END markers, the license left outside."""
    end = _END.search(text)
    if end is None:
        raise GutenbergError(f"{name}: no '*** END OF THE PROJECT GUTENBERG EBOOK' marker")
    starts = [m for m in _START.finditer(text, 0, end.start())]
    if not starts:
        raise GutenbergError(f"{name}: no '*** START OF THE PROJECT GUTENBERG EBOOK' marker")
    body = text[starts[-1].end() : end.start()]
    notes = list(_END_NOTE.finditer(body))
    note = notes[-1] if notes else None
    if note is not None and len(body) - note.start() < 400:
        body = body[: note.start()]
    return body


@dataclass(frozen=True)
class BodyBounds:
    """The first and last line of the author's own text, as exact (stripped) lines."""

    start: str
    end: str


def cut_to_bounds(body: str, bounds: BodyBounds, name: str) -> str:
    """Drop front matter (title page, contents, editor's notes) and back matter exactly."""
    lines = body.split("\n")
    stripped = [line.strip() for line in lines]
    for label, needle in (("start", bounds.start), ("end", bounds.end)):
        count = stripped.count(needle)
        if count != 1:
            raise GutenbergError(
                f"{name}: body {label} line {needle!r} occurs {count} times, not once"
            )
    first = stripped.index(bounds.start)
    last = stripped.index(bounds.end)
    if last < first:
        raise GutenbergError(f"{name}: body end line comes before the start line")
    return "\n".join(lines[first : last + 1])


_ILLUSTRATION = re.compile(r"^\[(?:Illustration|Frontispiece)\b.*\]$", re.IGNORECASE | re.DOTALL)
_NOTE = re.compile(
    r"^\[?(?:(?:Transcriber'?s?|Editor'?s?) ?Notes?\b|(?:E-?text )?(?:Produced|Prepared) by\b)",
    re.IGNORECASE,
)
_FOOTNOTE = re.compile(
    r"^(?:\[?(?:Footnote|Note)\s*[\d*A-Z]{0,4}\s*[:.\]]|\[\d{1,3}\]\s|\(\*?\d{1,2}\)\s)",
    re.IGNORECASE,
)
_HEADING = re.compile(
    r"^(?:(?:CHAPTER|BOOK|PART|VOLUME|LETTER|SECTION|CANTO)\b[^a-z]{0,60}|[IVXLC]+\.?|THE END\.?)$",
    re.IGNORECASE,
)
# Inline apparatus: "[Illustration: ...]", "[Footnote: ...]" and reference marks like "[4]".
_INLINE_APPARATUS = re.compile(
    r"\[(?:(?:Illustration|Footnote)[^\]]{0,500}|\d{1,3})\]", re.IGNORECASE
)


def paragraph_drop_reason(paragraph: str, after_footnote: bool = False) -> str | None:
    """Editorial apparatus inside the body: a reason to drop this raw paragraph, or None.

    `after_footnote`: the previous paragraph was a footnote; an indented block right after one
    is its continuation (the Pine Autobiography indents its editor's notes that way).
    """
    text = paragraph.strip()
    if _ILLUSTRATION.match(text):
        return "illustration"
    if _NOTE.match(text):
        return "editorial_note"
    if _FOOTNOTE.match(text):
        return "footnote"
    lines = [ln for ln in paragraph.split("\n") if ln.strip()]
    if after_footnote and all(ln.startswith("    ") for ln in lines):
        return "footnote"
    if _HEADING.match(text) or (text.isupper() and len(text) < 120):
        return "heading"
    if len(lines) >= 2 and sum(bool(_CONTENTS_LINE.match(ln)) for ln in lines) >= max(
        2, len(lines) / 2
    ):
        return "table_of_contents"
    return None


_CONTENTS_LINE = re.compile(r"^\s*(?:CHAPTER\b|[IVXLC]+\.\s)")


def paragraphs(body: str) -> list[str]:
    """Blank-line separated raw paragraphs (still wrapped and indented)."""
    return [p for p in re.split(r"\n[ \t]*\n", body) if p.strip()]


def clean_paragraph(paragraph: str) -> str:
    """One normalized line of prose: inline apparatus removed, italics unmarked."""
    return unwrap(_INLINE_APPARATUS.sub(" ", normalize(paragraph)))


def download(url: str, timeout: float = 60.0) -> bytes:
    """Fetch a book from Project Gutenberg (or any mirror URL); HTTP errors raise."""
    import requests

    response = requests.get(url, timeout=timeout, headers={"User-Agent": "twainlora-ingest"})
    response.raise_for_status()
    return response.content


def merge_short_paragraphs(records: list[dict], lengths: list[int], min_tokens: int) -> list[dict]:
    """Join each paragraph under `min_tokens` to the next one of the same section.

    Dropping short paragraphs would cut dialogue apart ('The woman broke in, eagerly:' loses
    its speech); joined, the passage stays whole and every record still meets the bound. A
    short run at the end of a section joins the previous record. Records are a book's
    paragraphs in order, each with meta.section; lengths are their token counts.
    """
    out: list[dict] = []
    pending: list[tuple[dict, int]] = []

    def joined(parts: list[tuple[dict, int]]) -> dict:
        first = parts[0][0]
        meta = {**first["meta"], "tokens": sum(n for _, n in parts)}
        if len(parts) > 1:
            meta["paragraphs"] = [p["meta"]["paragraph"] for p, _ in parts]
        return {**first, "text": "\n".join(p["text"] for p, _ in parts), "meta": meta}

    for i, (record, n) in enumerate(zip(records, lengths, strict=True)):
        pending.append((record, n))
        last_in_section = (
            i + 1 == len(records) or records[i + 1]["meta"]["section"] != record["meta"]["section"]
        )
        if sum(m for _, m in pending) >= min_tokens:
            out.append(joined(pending))
            pending = []
        elif last_in_section:
            prev = out[-1] if out else None
            if prev is not None and prev["meta"]["section"] == record["meta"]["section"]:
                parts = [(prev, prev["meta"]["tokens"]), *pending]
                merged = joined(parts)
                merged["meta"]["paragraphs"] = prev["meta"].get(
                    "paragraphs", [prev["meta"]["paragraph"]]
                ) + [p["meta"]["paragraph"] for p, _ in pending]
                out[-1] = merged
            else:
                out.append(
                    joined(pending)
                )  # a section that is short as a whole: the length filter decides
            pending = []
    return out
