import http.server
import threading
from functools import partial

import pytest

from twainlora.data.gutenberg import (
    BodyBounds,
    GutenbergError,
    clean_paragraph,
    cut_to_bounds,
    decode,
    download,
    merge_short_paragraphs,
    paragraph_drop_reason,
    paragraphs,
    strip_boilerplate,
)

from conftest import FIXTURES

TINY = FIXTURES / "mirror" / "gutenberg" / "tiny"


def test_decode_drops_bom_and_crlf():
    text = decode((TINY / "1_tiny.txt").read_bytes(), "1_tiny.txt")
    assert not text.startswith("\ufeff") and "\r" not in text


def test_decode_uses_the_declared_charset_when_not_utf8():
    raw = "Character set encoding: ISO-8859-1\n\nCafé crème".encode("latin-1")
    assert decode(raw, "x.txt").endswith("Café crème")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "x.txt: empty file"),
        (b"  \n\n", "x.txt: empty file"),
        (
            "Café".encode("latin-1"),
            r"x.txt: not valid UTF-8 \(byte 3\) and no other charset declared",
        ),
    ],
)
def test_decode_errors_name_the_file(raw, message):
    with pytest.raises(GutenbergError, match=message):
        decode(raw, "x.txt")


def test_strip_boilerplate_takes_the_last_start_marker_and_drops_the_license():
    text = decode((TINY / "1_tiny.txt").read_bytes(), "t")
    body = strip_boilerplate(text, "t")
    assert "Title: A Tiny Book" not in body  # between the two START markers
    assert "START" not in body and "LICENSE" not in body
    assert "End of the Project Gutenberg" not in body
    assert "The river was wide and brown" in body


def test_markers_without_space_and_this_or_the():
    text = "junk\n***START OF THE PROJECT GUTENBERG EBOOK X;\nY ***\nbody text\n***END OF THE PROJECT GUTENBERG EBOOK X ***\nlicense"
    assert strip_boilerplate(text, "t").strip() == "body text"


def test_no_header_is_an_error():
    with pytest.raises(GutenbergError, match="t: no .*END OF THE PROJECT GUTENBERG EBOOK"):
        strip_boilerplate((TINY / "4_no_header.txt").read_text(), "t")
    with pytest.raises(GutenbergError, match="t: no .*START OF THE PROJECT GUTENBERG EBOOK"):
        strip_boilerplate("text\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n", "t")


def test_cut_to_bounds_is_exact_and_checks_uniqueness():
    body = "TITLE\nCONTENTS\n\nFirst line.\nmore\n\nLast line.\nINDEX\n"
    assert (
        cut_to_bounds(body, BodyBounds("First line.", "Last line."), "b")
        == "First line.\nmore\n\nLast line."
    )
    with pytest.raises(GutenbergError, match="body start line 'nope' occurs 0 times"):
        cut_to_bounds(body, BodyBounds("nope", "Last line."), "b")
    with pytest.raises(GutenbergError, match="end line comes before"):
        cut_to_bounds(body, BodyBounds("Last line.", "First line."), "b")


@pytest.mark.parametrize(
    ("paragraph", "reason"),
    [
        ("[Illustration: The steamboat]", "illustration"),
        ("[Transcriber's Note: spelling kept]", "editorial_note"),
        ("[4] In this connection Woodrow Wilson says", "footnote"),
        ("(*18) New York Herald.", "footnote"),
        ("CHAPTER XII.", "heading"),
        ("THE CAPITOLINE VENUS", "heading"),
        ("IV.", "heading"),
        (
            "CHAPTER I. Civilizing Huck.\nCHAPTER II. The Boys Escape Jim.\nCHAPTER III. A Good Going-over.",
            "table_of_contents",
        ),
        ("CHAPTER I. The River.\nCHAPTER II. The Weather.", "table_of_contents"),
        ("Produced by David Widger", "editorial_note"),
        ("The river was wide and brown that morning.", None),
        ("I. Met him in the lane and said so.", None),
    ],
)
def test_paragraph_drop_reason(paragraph, reason):
    assert paragraph_drop_reason(paragraph) == reason


def test_indented_block_after_a_footnote_is_its_continuation():
    assert (
        paragraph_drop_reason("    Gibbon and Hume, the great\n    historians", after_footnote=True)
        == "footnote"
    )
    assert paragraph_drop_reason("    A poem line\n    another line", after_footnote=False) is None


def test_paragraphs_and_clean_paragraph():
    body = "One _two_\nthree.[1]\n\n  \n[Illustration: x] Four\n"
    assert [clean_paragraph(p) for p in paragraphs(body)] == ["One two three.", "Four"]


def _para(i, text, section=0):
    return {"id": f"g:{i}", "text": text, "meta": {"paragraph": i, "section": section}}


def test_merge_short_paragraphs_keeps_dialogue_together():
    long = "A long paragraph " * 5
    records = [
        _para(0, "The woman broke in, eagerly:"),
        _para(1, '"You are the young lady?"'),
        _para(2, long),
        _para(3, "Short end."),
        _para(4, "Next section long", 1),
    ]
    merged = merge_short_paragraphs(records, [6, 7, 20, 3, 20], min_tokens=16)
    assert [m["text"] for m in merged] == [
        f'The woman broke in, eagerly:\n"You are the young lady?"\n{long}\nShort end.',
        "Next section long",
    ]
    assert merged[0]["id"] == "g:0" and merged[1]["id"] == "g:4"
    assert merged[0]["meta"]["paragraphs"] == [0, 1, 2, 3]  # the short tail joined the previous
    assert merged[0]["meta"]["tokens"] == 36


def test_merge_short_paragraphs_never_crosses_a_section():
    records = [_para(0, "Long enough one", 0), _para(1, "tiny", 1), _para(2, "Long two", 2)]
    merged = merge_short_paragraphs(records, [20, 3, 20], min_tokens=16)
    assert [m["id"] for m in merged] == ["g:0", "g:1", "g:2"]  # the length filter drops g:1 later


def test_download_from_a_local_http_server(tmp_path):
    (tmp_path / "pg1.txt").write_bytes((TINY / "1_tiny.txt").read_bytes())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert download(f"{url}/pg1.txt") == (TINY / "1_tiny.txt").read_bytes()
        with pytest.raises(OSError, match="404"):
            download(f"{url}/missing.txt")
    finally:
        server.shutdown()
