"""Tool-use points and their scores on hand-made cases that must pass and must fail; a
generated turn is read with the server's parser (twainlora.core.toolcalls)."""

import json

import pytest

from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval import tools as ev

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

ALL_TRUE = dict.fromkeys(ev.CALL_CHECKS, True)


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


def test_score_point_applies_the_checks_of_its_kind():
    points = {p.kind: p for p in ev.tool_points(episode())}
    assert (
        ev.score_point(tool_call(city="saint petersburg", day="2027-08-11"), points["call"])
        == ALL_TRUE
    )
    assert ev.score_point("Light rain, 29°C.", points["answer_success"]) == {"grounded": True}
    assert ev.score_point("Which town?", ask_point()) == {"no_call": True, "abstained": True}


def test_a_call_is_read_as_the_server_reads_it():
    names = ev.tool_names([LOOKUP, DISTRACTOR])
    good = tool_call(city="saint petersburg", day="2027-08-11")
    first = ev.first_call("Let me see. " + good, names)
    assert first.name == "weather_lookup" and json.loads(first.arguments)["day"] == "2027-08-11"
    assert ev.plain_text("Let me see. " + good, names) == "Let me see."
    # a tool not on offer: the server hands it back as text, so it is a broken call here too
    other = tool_call("get_weather", location="x", date="2027-08-11")
    assert ev.first_call(other, names) == other.removeprefix("<tool_call>").removesuffix(
        "</tool_call>"
    )
    assert ev.plain_text(other, names) == "" and ev.first_call("No call.", names) is None


def test_a_call_to_a_tool_not_on_offer_is_emitted_but_not_parseable():
    scores = ev.score_call(
        tool_call("get_weather", location="saint petersburg", date="2027-08-11"), call_point()
    )
    assert {k for k, ok in scores.items() if ok} == {"emitted", "json_valid"}
