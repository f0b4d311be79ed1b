"""Reddit satire CSVs in their several schemas, read row by row into text records.

The stdlib csv reader is used rather than pandas because a malformed row must be rejected
with its own row and line number while every good row around it is kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

csv.field_size_limit(16 * 1024 * 1024)  # a 5 MB single-line cell is rejected by length, not by csv


@dataclass(frozen=True)
class CsvSource:
    """One CSV file and how its columns map to the record fields.

    `text_column` holds the headline. The subreddit comes from `subreddit` (fixed), from
    `label_column` through `labels` (OnionOrNot: 1 -> TheOnion), or from a `subreddit` column.
    """

    key: str
    path: str
    text_column: str = "title"
    subreddit: str | None = None
    label_column: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    license: str = "none stated"
    source_url: str = ""


OPTIONAL_COLUMNS = ("selftext", "score", "created_utc", "permalink")


@dataclass
class Reject:
    row: int
    line: int
    reason: str
    detail: str
    raw: str


def _int_field(value: str, name: str) -> int | None:
    value = value.strip()
    if value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"field {name}: not a number: {value[:40]!r}") from None


def read_csv(source: CsvSource, raw: bytes) -> Iterator[dict | Reject]:
    """Yield a record per good row and a Reject per malformed one, in file order."""
    # surrogateescape keeps undecodable bytes visible per row instead of failing the file.
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{source.path}: empty file (no header row)") from None
    columns = {name.strip(): i for i, name in enumerate(header)}
    if source.text_column not in columns:
        raise ValueError(
            f"{source.path}: no column {source.text_column!r} (columns: {sorted(columns)})"
        )
    if source.label_column and source.label_column not in columns:
        raise ValueError(f"{source.path}: no label column {source.label_column!r}")
    if not (source.subreddit or source.label_column or "subreddit" in columns):
        raise ValueError(f"{source.path}: no way to know the subreddit (set subreddit or labels)")

    previous_end = reader.line_num
    for row_number, row in enumerate(reader, start=1):
        line = previous_end + 1  # the physical line where this row starts
        previous_end = reader.line_num
        raw_row = ",".join(row)
        if len(row) != len(header):
            yield Reject(
                row_number,
                line,
                "wrong_column_count",
                f"{len(row)} columns, header has {len(header)}",
                raw_row[:500],
            )
            continue
        if any("\udc80" <= ch <= "\udcff" for ch in raw_row):
            yield Reject(
                row_number,
                line,
                "bad_encoding",
                "bytes that are not UTF-8",
                raw_row.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")[
                    :500
                ],
            )
            continue
        title = row[columns[source.text_column]].strip()
        if not title:
            yield Reject(
                row_number, line, "missing_text", f"empty {source.text_column}", raw_row[:500]
            )
            continue
        if source.label_column:
            label = row[columns[source.label_column]].strip()
            if label not in source.labels:
                yield Reject(row_number, line, "unknown_label", f"label {label!r}", raw_row[:500])
                continue
            subreddit = source.labels[label]
        else:
            subreddit = source.subreddit or row[columns["subreddit"]].strip()
        meta = {
            "subreddit": subreddit,
            "file": source.path,
            "row": row_number,
            "license": source.license,
            "url": source.source_url,
        }
        try:
            for name in OPTIONAL_COLUMNS:
                if name not in columns:
                    continue
                value = row[columns[name]]
                meta[name] = (
                    _int_field(value, name) if name in ("score", "created_utc") else value.strip()
                )
        except ValueError as e:
            yield Reject(row_number, line, "bad_field", str(e), raw_row[:500])
            continue
        yield {
            "id": f"reddit:{source.key}:{row_number:06d}",
            "text": title,
            "source": "reddit",
            "meta": meta,
        }
