"""The evaluation metrics on hand-made cases that must pass and must fail, the style
classifier on a small slice of the real corpora, and the LLM judge against a real server."""

import csv
import importlib.util
import io
import json
import sys

import pytest
import yaml

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.params import ParamsError, load_params
from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval import evaluation as ev
from twainlora.eval import review
from twainlora.sft.generators import EndpointGenerator

from conftest import ROOT, SHARED_CORPORA
from openai_stub import OpenAIStub

SYSTEM = {
    "role": "system",
    "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] Be Twain. Today is 2026-03-14.",
}
# A varied schema, as the tool episodes offer: other names, an optional unit with an enum.
LOOKUP = {
    "type": "function",
    "function": {
        "name": "weather_lookup",
        "description": "Weather report for one city on one calendar day.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "day": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "day"],
        },
    },
}
DISTRACTOR = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
RESULT = {
    "location": "Saint Petersburg, Florida, United States",
    "date": "2027-08-11",
    "temperature_c": 29,
    "temperature_f": 84,
    "condition": "Light Rain",
    "wmo_code": 61,
    "precipitation_mm": 3.2,
    "wind_kph": 6,
    "humidity_pct": 88,
}
ERROR = {"error": "internal error", "message": "Unexpected error from the forecast backend."}


def call_message(name, arguments):
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def episode(case="success", result=RESULT, answer="Saint Petersburg: light rain, 29°C."):
    user = {"role": "user", "content": "Weather in saint petersburg on 2027-08-11?"}
    messages = [
        SYSTEM,
        user,
        call_message("weather_lookup", {"city": "saint petersburg", "day": "2027-08-11"}),
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
        {"role": "assistant", "content": answer},
    ]
    return {
        "id": f"tool:{case}",
        "messages": messages,
        "tools": [DISTRACTOR, LOOKUP],
        "tags": {"case": case},
    }


def call_point():
    return next(p for p in ev.tool_points(episode()) if p.kind == "call")


def tool_call(name="weather_lookup", **arguments):
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


# --- tool points ---------------------------------------------------------------------------


def test_tool_points_of_each_case():
    assert [(p.kind, p.id) for p in ev.tool_points(episode())] == [
        ("call", "tool:success#2"),
        ("answer_success", "tool:success#4"),
    ]
    assert [p.kind for p in ev.tool_points(episode("api_error", ERROR, "No forecast."))] == [
        "call",
        "answer_error",
    ]
    # A payload without the weather in it is an error too (the synth stage's bad tool output).
    bad = episode("bad_tool_output", {"status": 502, "data": {}}, "No forecast.")
    assert ev.tool_points(bad)[1].kind == "answer_error"
    missing = {
        "id": "tool:m",
        "messages": [
            SYSTEM,
            {"role": "user", "content": "Will it rain tomorrow?"},
            {"role": "assistant", "content": "Which town?"},
            {"role": "user", "content": "Hannibal"},
        ],
        "tools": [LOOKUP],
        "tags": {"case": "missing_location"},
    }
    (ask,) = ev.tool_points(missing)
    assert ask.kind == "ask_location" and ask.messages == tuple(missing["messages"][:2])
    unrelated = {
        "id": "tool:i",
        "messages": [
            SYSTEM,
            {"role": "user", "content": "Who wrote Tom Sawyer?"},
            {"role": "assistant", "content": "I did."},
        ],
        "tools": [LOOKUP],
        "tags": {"case": "irrelevant"},
    }
    assert [p.kind for p in ev.tool_points(unrelated)] == ["irrelevant"]


def test_sample_points_is_seeded_and_per_kind():
    points = [p for i in range(6) for p in ev.tool_points({**episode(), "id": f"t{i}"})]
    chosen = ev.sample_points(points, {"call": 2, "answer_success": None}, seed=0)
    assert [p.kind for p in chosen] == ["call", "call"] + ["answer_success"] * 6
    assert chosen == ev.sample_points(points, {"call": 2, "answer_success": None}, seed=0)
    assert chosen[:2] != ev.sample_points(points, {"call": 2}, seed=1)[:2]


# --- calls ---------------------------------------------------------------------------------

ALL_TRUE = dict.fromkeys(
    [
        "emitted",
        "json_valid",
        "parseable",
        "right_name",
        "required_args",
        "args_match",
        "schema_valid",
    ],
    True,
)


def test_the_gold_call_passes_every_check():
    assert (
        ev.score_call(tool_call(city="saint petersburg", day="2027-08-11"), call_point())
        == ALL_TRUE
    )


AFTER_NAME = {"right_name", "required_args", "args_match", "schema_valid"}


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        # malformed JSON: a call was attempted, nothing after it holds
        (
            '<tool_call>{"name": "weather_lookup", "arguments": {"city": "x",}</tool_call>',
            {"json_valid", "parseable"} | AFTER_NAME,
        ),
        # cut off by the token limit
        (
            '<tool_call>{"name": "weather_lookup", "arguments": {"city": "saint pete',
            {"json_valid", "parseable"} | AFTER_NAME,
        ),
        # valid JSON but not a call
        ('<tool_call>["weather_lookup"]</tool_call>', {"parseable"} | AFTER_NAME),
        # the distractor tool
        (tool_call("get_time", city="saint petersburg"), AFTER_NAME),
        # a missing required argument
        (tool_call(city="saint petersburg"), {"required_args", "args_match", "schema_valid"}),
        # the wrong date
        (tool_call(city="saint petersburg", day="2027-08-12"), {"args_match"}),
        # another city
        (tool_call(city="Petersburg", day="2027-08-11"), {"args_match"}),
    ],
)
def test_bad_calls(response, failed):
    scores = ev.score_call(response, call_point())
    assert {k for k, ok in scores.items() if not ok} == failed


def test_schema_validity_is_checked_apart_from_the_values():
    # right place and day, but a unit outside the schema's enum and a date as a number
    scores = ev.score_call(
        tool_call(city="Saint Petersburg", day="2027-08-11", unit="kelvin"), call_point()
    )
    assert scores["required_args"] and scores["args_match"] and not scores["schema_valid"]
    scores = ev.score_call(tool_call(city="saint petersburg", day=20270811), call_point())
    assert scores["required_args"] and not scores["args_match"] and not scores["schema_valid"]


def test_no_call_fails_everything():
    scores = ev.score_call("It will rain in Saint Petersburg, I reckon.", call_point())
    assert not any(scores.values())


def test_arguments_as_a_json_string_are_accepted():
    body = json.dumps(
        {
            "name": "weather_lookup",
            "arguments": json.dumps({"city": "saint petersburg", "day": "2027-08-11"}),
        }
    )
    assert ev.score_call(f"<tool_call>{body}</tool_call>", call_point()) == ALL_TRUE


@pytest.mark.parametrize(
    ("predicted", "gold", "match"),
    [
        ("SAINT PETERSBURG", "saint petersburg", True),
        ("São Paulo, Brazil", "Sao Paulo", True),
        ("Taiyuan, China", "taiyuan, shanxi, china", True),
        ("bratsk, irkutskaya oblast’", "Bratsk, Irkutskaya Oblast", True),
        ("Paris, Texas", "Paris, France", False),
        ("Paris", "Parris", False),
        (None, "Paris", False),
    ],
)
def test_locations_are_normalized(predicted, gold, match):
    assert ev.locations_match(predicted, gold) is match


# --- abstention and grounding --------------------------------------------------------------


def ask_point():
    messages = (SYSTEM, {"role": "user", "content": "Will it rain tomorrow?"})
    return ev.ToolPoint("a#2", "ask_location", "a", messages, (GET_WEATHER_TOOL,))


@pytest.mark.parametrize(
    ("response", "abstained", "no_call"),
    [
        ("Which town do you mean?", True, True),
        ("Tell me the place and I will tell you the sky over it.", True, True),
        # the date in the system prompt may be repeated
        ("For which town? I can look up 2026-03-14 for you.", True, True),
        # a forecast for nowhere
        ("Tomorrow will be sunny.", False, True),
        ("Expect 20C and a breeze.", False, True),
        # a call with no place to call for
        (tool_call("get_weather", location="here", date="2026-03-15"), False, False),
        ("", False, True),
    ],
)
def test_abstention_without_a_place(response, abstained, no_call):
    assert ev.score_abstention(response, ask_point()) == {
        "abstained": abstained,
        "no_call": no_call,
    }


def test_an_unrelated_request_gets_an_answer_not_a_call():
    point = ev.ToolPoint("i#2", "irrelevant", "i", (SYSTEM,), (GET_WEATHER_TOOL,))
    assert ev.score_abstention("The earth leans; hence snow in winter.", point)["abstained"]
    scores = ev.score_abstention(
        tool_call("get_weather", location="Earth", date="2026-03-14"), point
    )
    assert scores == {"abstained": False, "no_call": False}


@pytest.mark.parametrize(
    ("answer", "problems"),
    [
        ("Saint Petersburg on Wednesday, August 11: light rain, 84°F (29°C), 3.2 mm.", []),
        ("Showers and 29 degrees; take an umbrella, it gives you something to hold.", []),
        ("Light rain at 31°C.", ["numbers not in the tool result: ['31']"]),
        ("Sunny and 29°C.", ["conditions not in the tool result: ['sun']"]),
        ("Light rain, and thunder by evening.", ["conditions not in the tool result: ['storm']"]),
        ("", ["no answer"]),
        (
            '<tool_response>{"condition": "Light Rain"}</tool_response>',
            ["echoes a tool response instead of answering"],
        ),
        (
            tool_call(city="saint petersburg", day="2027-08-12"),
            ["calls a tool instead of answering", "no answer"],
        ),
    ],
)
def test_grounding_after_a_result(answer, problems):
    assert ev.answer_problems(answer, json.dumps(RESULT)) == problems


@pytest.mark.parametrize(
    ("answer", "problems"),
    [
        ("The weather service did not answer, and I will not guess.", []),
        (
            "The service failed; it is probably 18°C and cloudy anyway.",
            [
                "numbers not in the tool result: ['18']",
                "conditions not in the tool result: ['cloud']",
            ],
        ),
        ("No forecast, but expect snow.", ["conditions not in the tool result: ['snow']"]),
    ],
)
def test_no_weather_invented_after_an_error(answer, problems):
    assert ev.answer_problems(answer, json.dumps(ERROR)) == problems


def test_tool_metrics_are_shares_over_their_points():
    scored = [
        ("call", ALL_TRUE),
        ("call", {**dict.fromkeys(ALL_TRUE, False), "emitted": True}),
        ("ask_location", {"no_call": True, "abstained": True}),
        ("irrelevant", {"no_call": False, "abstained": False}),
        ("answer_success", {"grounded": True}),
        ("answer_error", {"grounded": False}),
    ]
    metrics = ev.tool_metrics(scored)
    assert metrics["emitted"] == 1.0 and metrics["parseable"] == 0.5
    assert metrics["abstain_missing_location"] == 1.0 and metrics["abstain_irrelevant"] == 0.0
    assert metrics["false_call_rate"] == 0.5
    assert metrics["grounded"] == 0.5 and metrics["no_invention_on_error"] == 0.0
    assert "ask_missing_date" not in metrics and metrics["n_points"] == 6


# --- style ---------------------------------------------------------------------------------


def test_classification_report():
    actual = ["twain", "twain", "franklin", "satire"]
    predicted = ["twain", "franklin", "franklin", "satire"]
    report = ev.classification_report(actual, predicted)
    assert report["accuracy"] == 0.75
    assert report["f1"] == {"twain": 0.6667, "franklin": 0.6667, "satire": 1.0}
    assert report["macro_f1"] == 0.7778 and report["support"] == {
        "twain": 2,
        "franklin": 1,
        "satire": 1,
    }


def test_style_adherence_counts_empty_answers_as_misses():
    probs = [{"twain": 0.9, "franklin": 0.1}, {"twain": 0.3, "franklin": 0.7}, {"twain": 0.8}]
    out = ev.style_adherence(["twain", "twain", "franklin"], probs, ["a", "b", ""])
    assert out == {
        "n": 3,
        "adherence": 0.3333,
        "mean_prob": 0.4,
        "twain_share": 0.5,
        "franklin_share": 0.0,
    }


def test_labels_come_from_tags():
    def record(persona, source, template, texts):
        messages = [{"role": "user", "content": "q"}] + [
            {"role": "assistant", "content": t} for t in texts
        ]
        return {
            "messages": messages,
            "tags": {"persona": persona, "source": source, "template": template},
        }

    assert ev.sft_examples(record("twain", "gutenberg", "style_imitation", ["passage"])) == [
        ("twain", "passage")
    ]
    assert ev.sft_examples(record("neutral", "reddit", "humor", ["Area Man"])) == [
        ("satire", "Area Man")
    ]
    assert ev.sft_examples(record("neutral", "synthetic", "tool_success", ["a", "b"])) == [
        ("neutral", "a"),
        ("neutral", "b"),
    ]
    # synthetic imitations and refusals would blur the labels
    assert ev.sft_examples(record("twain", "synthetic", "style_imitation", ["x"])) == []
    assert ev.sft_examples(record("twain", "reddit", "safety", ["x"])) == []


def test_other_authors_hold_out_chunks_and_drop_their_overlapping_neighbours():
    records = [
        {
            "id": f"gutenberg:98:s0000c{c:03d}",
            "text": f"chunk {c}",
            "source": "gutenberg",
            "meta": {"author": "Charles Dickens"},
        }
        for c in range(40)
    ] + [
        {
            "id": "gutenberg:76:s0000c000",
            "text": "huck",
            "source": "gutenberg",
            "meta": {"author": "Mark Twain"},
        }
    ]
    train, held = ev.other_author_examples(records, holdout=0.2, seed=0)
    held_ids = {int(t.split()[1]) for _, t in held}
    train_ids = {int(t.split()[1]) for _, t in train}
    assert held_ids and not train_ids & {c + d for c in held_ids for d in (-1, 0, 1)}
    assert len(held_ids) + len(train_ids) < 40 and all(lab == "other" for lab, _ in train + held)


def test_windows_and_balance():
    assert ev.windows("a b c d e f g", 3, 2) == ["a b c", "d e f"]
    examples = [("twain", f"t{i}") for i in range(10)] + [("satire", "s"), ("satire", "s")]
    out = ev.balanced(examples, cap=4, seed=0)
    assert sorted(lab for lab, _ in out) == ["satire"] + ["twain"] * 4
    assert out == ev.balanced(examples, cap=4, seed=0)


def paragraphs(path, start, n, min_words=25):
    text = path.read_text("utf-8", errors="replace").replace("\r\n", "\n")
    paras = [" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) >= min_words]
    return paras[start : start + n]


@pytest.mark.skipif(not (SHARED_CORPORA / "gutenberg").exists(), reason="needs the corpora mirror")
def test_the_classifier_tells_authors_apart_on_real_text():
    g = SHARED_CORPORA / "gutenberg"
    with open(SHARED_CORPORA / "reddit/OnionOrNot.csv", encoding="utf-8") as f:
        onion = [row["text"] for row in csv.DictReader(f) if row["label"] == "1"]
    sources = {
        "twain": g / "twain/76_huckleberry_finn.txt",
        "franklin": g / "franklin/148_autobiography.txt",
        "other": g / "darwin/1228_origin_of_species.txt",
    }
    train, held = [], []
    for label, path in sources.items():
        train += [(label, p) for p in paragraphs(path, 100, 120)]
        held += [(label, p) for p in paragraphs(path, 400, 20)]
    train += [("satire", h) for h in onion[:400]]
    held += [("satire", h) for h in onion[1000:1020]]
    params = ev.ClassifierParams(
        window_words=60, min_words=4, max_per_label=400, max_eval_per_label=50,
        holdout_other=0.1, epoch=25, lr=0.5, word_ngrams=2, dim=30, seed=0,
    )  # fmt: skip
    windows = [(lab, w) for lab, t in train for w in ev.windows(t, 60, 4)]
    classifier = ev.StyleClassifier.train(ev.balanced(windows, 400, 0), params)
    report = ev.classification_report(
        [lab for lab, _ in held], classifier.predict([t for _, t in held])
    )
    assert report["accuracy"] >= 0.85, report
    probs = classifier.probabilities(
        ["Well, I reckon I warn't going to let Tom and Jim get ahead of me, so I lit out."]
    )[0]
    assert max(probs, key=probs.get) == "twain" and abs(sum(probs.values()) - 1) < 1e-3


def test_style_prompts_cover_each_stratum_first():
    def record(i, template, persona, chars=20):
        return {
            "id": f"r{i}",
            "tags": {"template": template, "persona": persona},
            "messages": [
                {"role": "user", "content": "x" * chars},
                {"role": "assistant", "content": "a"},
            ],
        }

    records = [record(i, "style_imitation", "twain") for i in range(5)] + [
        record(10, "aphorism", "franklin"),
        record(11, "humor", "neutral"),  # no persona asked for
        record(12, "safety", "twain", chars=900),  # too long
    ]
    chosen = ev.style_prompts(records, n=3, seed=0, max_chars=600)
    assert len(chosen) == 3 and "r10" in {r["id"] for r in chosen}
    assert len(ev.style_prompts(records, n=None, seed=0, max_chars=600)) == 6


# --- toxicity, copying, deltas ---------------------------------------------------------------


def test_toxicity():
    probs = ev.toxicity_probs(["A fine day for a steamboat ride.", "You are a fucking idiot."])
    assert probs[0] < 0.5 < probs[1]
    assert ev.toxicity_summary(probs, 0.5)["share_over_threshold"] == 0.5


def test_copied_ngrams():
    training = [
        "The river was wide and brown that morning, and the steamboat came around the bend."
    ]
    generated = [
        "Well, the river was wide and brown that morning, and so was I.",
        "Nothing here is copied from anything at all, I promise you that much.",
    ]
    wanted = {g for t in generated for g in ev.ngrams(t, 8)}
    copied = ev.copied_ngrams(wanted, training, 8)
    assert copied == {
        ("the", "river", "was", "wide", "and", "brown", "that", "morning"),
        ("river", "was", "wide", "and", "brown", "that", "morning", "and"),
    }
    summary = ev.copy_summary(generated, copied, 8)
    assert summary["ngrams_8"] == 6 + 6 and summary["copied_share"] == 0.1667


def test_delta_skips_counts_and_flags():
    model = {
        "style": {"n": 5, "twain_share": 0.5},
        "toxicity": {"not_above_base": True, "mean_prob": 0.1},
    }
    base = {"style": {"n": 5, "twain_share": 0.2}, "toxicity": {"mean_prob": 0.15}}
    assert ev.delta(model, base) == {
        "style": {"twain_share": 0.3},
        "toxicity": {"mean_prob": -0.05},
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


def test_score_point_applies_the_checks_of_its_kind():
    points = {p.kind: p for p in ev.tool_points(episode())}
    assert (
        ev.score_point(tool_call(city="saint petersburg", day="2027-08-11"), points["call"])
        == ALL_TRUE
    )
    assert ev.score_point("Light rain, 29°C.", points["answer_success"]) == {"grounded": True}
    assert ev.score_point("Which town?", ask_point()) == {"no_call": True, "abstained": True}


def test_a_spot_check_row_shows_the_ratings_of_that_very_response():
    messages = (SYSTEM, {"role": "user", "content": "Weather?"})
    rated = review.spot_check_id("style", "t:1#2", "Which town?")
    ratings = {rated: {"tone": 3, "hallucinated_weather": False}}
    row = review.spot_check_row(
        "style", "t:1#2", "t:1", "ask_location", messages, "Which town?", ratings
    )
    assert row["id"] == rated and row["context"] == "user: Weather?"
    assert (row["tone"], row["correctness"], row["hallucinated_weather"]) == (3, "", "no")
    other = review.spot_check_row(
        "style", "t:1#2", "t:1", "ask_location", messages, "Where?", ratings
    )
    assert other["tone"] == "" and other["id"] != rated


def evaluate_params_class():
    spec = importlib.util.spec_from_file_location("stage_evaluate", ROOT / "stages/evaluate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through it
    spec.loader.exec_module(module)
    return module.Params


def test_the_shipped_params_parse_and_bad_ones_are_refused(tmp_path):
    params_class = evaluate_params_class()
    params = load_params("evaluate", params_class, ROOT / "params.yaml")
    assert params.profile == "cpu" and params.judge.endpoint.base_url == ""
    section = yaml.safe_load((ROOT / "params.yaml").read_text())["evaluate"]
    for change, message in [
        ({"profile": "tpu"}, "profile 'tpu' is not among"),
        ({"max_new_tokens": {"style": 8}}, "max_new_tokens needs exactly"),
        (
            {
                "profiles": {
                    **section["profiles"],
                    "cpu": {**section["profiles"]["cpu"], "tool_points": {"calls": 1}},
                }
            },
            r"profiles.cpu.tool_points: unknown \['calls'\]",
        ),
    ]:
        (tmp_path / "p.yaml").write_text(yaml.safe_dump({"evaluate": {**section, **change}}))
        with pytest.raises(ParamsError, match=message):
            load_params("evaluate", params_class, tmp_path / "p.yaml")
