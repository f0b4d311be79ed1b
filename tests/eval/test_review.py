"""The LLM judge against a real server, human spot-check ratings and the side-by-side
examples."""

import csv
import io

import pytest

from twainlora.core.endpoint import EndpointConfig
from twainlora.eval import review
from twainlora.sft.generators import EndpointGenerator

from openai_stub import OpenAIStub

SYSTEM = {
    "role": "system",
    "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] Be Twain. Today is 2026-03-14.",
}


# --- judge ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        (
            '{"twainness": 4, "wit": 2, "grounded": "yes"}',
            {"twainness": 4.0, "wit": 2.0, "grounded": True},
        ),
        (
            'Sure: {"twainness": 1, "wit": 5, "grounded": "No"} hope that helps',
            {"twainness": 1.0, "wit": 5.0, "grounded": False},
        ),
        ('{"twainness": 6, "wit": 2, "grounded": "yes"}', None),
        ('{"twainness": 3, "wit": 2}', None),
        ('{"twainness": true, "wit": 2, "grounded": "yes"}', None),
        ("four out of five", None),
    ],
)
def test_parse_judgement(reply, parsed):
    assert review.parse_judgement(reply) == parsed


def test_the_judge_against_a_real_server_is_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("TWAINLORA_JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("TWAINLORA_JUDGE_MODEL", raising=False)
    assert not EndpointConfig().resolved("judge").configured  # the default: not configured
    pairs = [
        ((SYSTEM, {"role": "user", "content": f"Joke #{i}?"}), f"Answer {i}") for i in range(3)
    ]
    with OpenAIStub() as stub:
        monkeypatch.setenv("TWAINLORA_JUDGE_BASE_URL", stub.base_url)
        monkeypatch.setenv("TWAINLORA_JUDGE_MODEL", "judge")
        monkeypatch.setenv("TWAINLORA_GENERATOR_MODEL", "not-the-judge")
        config = EndpointConfig(temperature=0.0)
        judge = EndpointGenerator(config, tmp_path, seed=0, role="judge")
        first = review.run_judge(judge, pairs, key="m")
        assert len(stub.requests) == 3
        sent = stub.requests[0]
        assert sent["model"] == "judge" and sent["messages"][0]["content"] == review.JUDGE_SYSTEM
        assert "Answer 0" in sent["messages"][1]["content"]
        again = EndpointGenerator(config, tmp_path, seed=0, role="judge")
        assert review.run_judge(again, pairs, key="m") == first and again.requests == 0
    assert all(j is not None and 1 <= j["twainness"] <= 5 for j in first)
    summary = review.judge_summary(first + [None])
    assert summary["n"] == 4 and summary["unparsed"] == 1 and summary["grounded"] == 1.0


# --- spot checks and examples ----------------------------------------------------------------


def ratings_csv(rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=review.SPOT_CHECK_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in review.SPOT_CHECK_COLUMNS})
    return csv.DictReader(io.StringIO(out.getvalue()))


def test_ratings_are_parsed_summarized_and_keyed_by_the_text_rated():
    a = review.spot_check_id("style", "r1", "Hello")
    assert a != review.spot_check_id("style", "r1", "Hello!") and a.startswith("style:r1:")
    rows = [
        {"id": a, "tone": "4", "correctness": "yes", "hallucinated_weather": "no"},
        {"id": "style:r2:x", "tone": "2", "correctness": "N", "hallucinated_weather": "yes"},
        {"id": "style:r3:y"},  # not rated yet
    ]
    ratings = review.parse_ratings(ratings_csv(rows), "r.csv")
    assert set(ratings) == {a, "style:r2:x"}
    assert review.ratings_summary(ratings, [a, "style:r2:x", "style:r3:y"]) == {
        "rated": 2,
        "tone_mean": 3.0,
        "correct_share": 0.5,
        "hallucinated_weather_share": 0.5,
    }
    assert review.ratings_summary(ratings, ["other"]) == {"rated": 0}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "x", "tone": "6"}, r"r.csv:2: tone must be 1-5, got '6'"),
        (
            {"id": "x", "correctness": "maybe"},
            r"r.csv:2: correctness must be yes or no, got 'maybe'",
        ),
    ],
)
def test_a_rating_off_its_scale_is_an_error(row, message):
    with pytest.raises(review.RatingsError, match=message):
        review.parse_ratings(ratings_csv([row]), "r.csv")


def test_examples_markdown_has_every_prompt_side_by_side():
    answers = {
        m: [f"{m} says | hi\nthere"] * len(review.EXAMPLES) for m in ("base", "style", "style_tool")
    }
    text = review.examples_markdown(answers)
    assert len(review.EXAMPLES) == 10 and text.count("\n## ") == 10
    assert "| base | style | style_tool |" in text
    assert "| base says \\| hi<br>there | style says" in text
    titles = [title for title, _, _ in review.EXAMPLES]
    assert {"Tool call", "Missing city", "API error", "Irrelevant question"} <= set(titles)


def test_a_spot_check_row_shows_the_ratings_of_that_very_response():
    messages = (SYSTEM, {"role": "user", "content": "Weather?"})
    rated = review.spot_check_id("style", "t:1#2", "Which town?")
    ratings = {rated: {"tone": 3, "hallucinated_weather": False}}
    row = review.spot_check_row("style", "t:1#2", "ask_location", messages, "Which town?", ratings)
    assert row["id"] == rated and row["context"] == "user: Weather?"
    assert (row["tone"], row["correctness"], row["hallucinated_weather"]) == (3, "", "no")
    other = review.spot_check_row("style", "t:1#2", "ask_location", messages, "Where?", ratings)
    assert other["tone"] == "" and other["id"] != rated


def test_the_sheet_samples_the_same_items_for_every_model(tmp_path):
    from twainlora.eval.prompts import Item

    items = [
        Item(f"t:{i}#2", "missing_place", (SYSTEM, {"role": "user", "content": f"Rain {i}?"}))
        for i in range(5)
    ]
    answers = {m: [f"{m} answer {i}" for i in range(5)] for m in ("base", "style")}
    rated = review.spot_check_id("style", "t:3#2", "style answer 3")
    ratings = {rated: {"tone": 5}, "style:gone:0000000000": {"tone": 1}}
    rows = review.spot_check_rows(items, answers, 3, seed=0, ratings=ratings)
    assert len(rows) == 6 and [r["context"] for r in rows[:3]] == [r["context"] for r in rows[3:]]
    assert review.spot_check_summary(rows, ratings)["stale_ratings"] >= 1
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(review.spot_check_csv(rows), "utf-8")
    # the ratings given for the answers on the sheet are filled in; a sheet reads back as them
    all_rows = review.spot_check_rows(items, answers, 5, seed=0, ratings=ratings)
    sheet.write_text(review.spot_check_csv(all_rows), "utf-8")
    assert review.read_ratings(sheet) == {rated: {"tone": 5}}
    assert review.read_ratings(tmp_path / "missing.csv") == {}
