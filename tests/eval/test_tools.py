"""Reading a generated turn for tool use, on hand-made cases that must pass and must fail: a
turn is read with the server's parser (twainlora.core.toolcalls)."""

import json

import pytest

from twainlora.eval import tools as ev

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


def tool_call(name="weather_lookup", **arguments):
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


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


# --- grounding ---------------------------------------------------------------------------


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
