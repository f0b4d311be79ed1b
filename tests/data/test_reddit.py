import pytest

from twainlora.data.reddit import CsvSource, Reject, read_csv

from conftest import FIXTURES

REDDIT = FIXTURES / "mirror" / "reddit"
ONION = CsvSource(
    key="oon",
    path="onion_small.csv",
    text_column="text",
    label_column="label",
    labels={"1": "TheOnion", "0": "nottheonion"},
)
POSTS = CsvSource(key="posts", path="posts_small.csv")


def test_labels_map_to_subreddits_and_bad_rows_are_rejected_with_row_and_line():
    items = list(read_csv(ONION, (REDDIT / "onion_small.csv").read_bytes()))
    records = [i for i in items if not isinstance(i, Reject)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [r["meta"]["subreddit"] for r in records] == ["TheOnion", "nottheonion", "TheOnion"]
    assert records[0]["id"] == "reddit:oon:000001"
    assert [(r.row, r.line, r.reason) for r in rejects] == [
        (3, 4, "wrong_column_count"),
        (4, 5, "missing_text"),
        (5, 6, "bad_encoding"),
        (7, 8, "unknown_label"),
    ]
    assert "not UTF-8" in rejects[2].detail and "\\xe9" in rejects[2].raw


def test_post_schema_keeps_optional_fields_and_counts_multiline_rows():
    items = list(read_csv(POSTS, (REDDIT / "posts_small.csv").read_bytes()))
    good = [i for i in items if not isinstance(i, Reject)]
    bad = [i for i in items if isinstance(i, Reject)]
    assert good[0]["meta"]["score"] == 12 and good[0]["meta"]["created_utc"] == 1654252105
    assert (
        good[1]["text"].startswith("Multi\nline") and good[1]["meta"]["subreddit"] == "nottheonion"
    )
    assert (bad[0].row, bad[0].line, bad[0].reason) == (3, 5, "bad_field")
    assert "field score: not a number: 'lots'" in bad[0].detail


@pytest.mark.parametrize(
    ("raw", "source", "message"),
    [
        (b"", POSTS, "empty file"),
        (b"foo,bar\n1,2\n", POSTS, "no column 'title'"),
        (b"title\nx\n", POSTS, "no way to know the subreddit"),
    ],
)
def test_unusable_files_are_clear_errors(raw, source, message):
    with pytest.raises(ValueError, match=message):
        list(read_csv(source, raw))
