import json

import pytest

from twainlora.core.jsonl import JsonlError, atomic_open, read_jsonl, write_json, write_jsonl


def test_write_then_read_round_trip(tmp_path):
    path = tmp_path / "sub" / "r.jsonl"
    n = write_jsonl(path, [{"b": 1, "a": "é"}, {"a": 2}])
    assert n == 2
    assert path.read_text("utf-8").splitlines()[0] == '{"a": "é", "b": 1}'  # sorted keys, UTF-8
    assert list(read_jsonl(path)) == [{"a": "é", "b": 1}, {"a": 2}]


def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "r.jsonl"
    write_jsonl(path, [{"old": True}])

    def records():
        yield {"new": 1}
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError):
        write_jsonl(path, records())
    assert list(read_jsonl(path)) == [{"old": True}]
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_atomic_open_creates_nothing_on_error(tmp_path):
    with pytest.raises(ValueError), atomic_open(tmp_path / "x.txt") as f:
        f.write("half")
        raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n', "utf-8")
    with pytest.raises(JsonlError, match=r"bad.jsonl:3: not valid JSON"):
        list(read_jsonl(path))
    path.write_text("[1, 2]\n", "utf-8")
    with pytest.raises(JsonlError, match=r"bad.jsonl:1: expected a JSON object, got list"):
        list(read_jsonl(path))


def test_write_json_is_stable(tmp_path):
    write_json(tmp_path / "m.json", {"b": 1, "a": {"d": 2, "c": 3}})
    text = (tmp_path / "m.json").read_text("utf-8")
    assert text == json.dumps({"a": {"c": 3, "d": 2}, "b": 1}, indent=2, sort_keys=True) + "\n"
