"""The books file: typed entries, clear errors naming the file and field; a book's raw record."""

import hashlib

import pytest

from twainlora.core.params import ParamsError
from twainlora.data.books import Book, load_books, read_book
from twainlora.data.gutenberg import BodyBounds, GutenbergError

from conftest import FIXTURES, TINY_TWAIN_BOOK, write_books


def test_entries_are_typed(tmp_path):
    other = {k: v for k, v in TINY_TWAIN_BOOK.items() if k != "body"} | {"id": 2, "path": "b.txt"}
    books = load_books(write_books(tmp_path / "books.yaml", [TINY_TWAIN_BOOK, other]))
    assert books[0].body == BodyBounds(**TINY_TWAIN_BOOK["body"])
    assert books[1] == Book(2, 1900, "Mark Twain", "A Tiny Book", "b.txt", body=None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"titel": "x"}, r"books\.yaml:books\[0\]: unknown key\(s\) \['titel'\]"),
        ({"year": "1900"}, r"books\.yaml:books\[0\]\.year: expected int, got '1900'"),
        ({"body": {"start": "a"}}, r"books\.yaml:books\[0\]\.body: missing key\(s\) \['end'\]"),
    ],
)
def test_a_bad_entry_names_file_and_field(tmp_path, change, message):
    path = write_books(tmp_path / "books.yaml", [TINY_TWAIN_BOOK | change])
    with pytest.raises(ParamsError, match=message):
        load_books(path)


def test_a_repeated_id_is_an_error(tmp_path):
    path = write_books(tmp_path / "books.yaml", [TINY_TWAIN_BOOK, TINY_TWAIN_BOOK | {"path": "x"}])
    with pytest.raises(ParamsError, match=r"books\.yaml:books: id repeated: \[1\]"):
        load_books(path)


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ParamsError, match="no such file"):
        load_books(tmp_path / "absent.yaml")


def test_read_book_from_the_mirror():
    book = Book(**(TINY_TWAIN_BOOK | {"body": None}))
    raw = (FIXTURES / "mirror" / book.path).read_bytes()
    record, retrieved, size = read_book(book, FIXTURES / "mirror", "http://unused/{id}")
    assert (retrieved, size) == ("mirror", len(raw))
    assert record["id"] == "gutenberg:1" and record["source"] == "gutenberg"
    assert record["meta"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert record["meta"]["mirror_path"] == book.path and record["meta"]["year"] == 1900


def test_an_empty_book_is_a_gutenberg_error(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    book = Book(9, 1900, "Nobody", "Empty", "empty.txt")
    with pytest.raises(GutenbergError, match="empty file"):
        read_book(book, tmp_path, "http://unused/{id}")
