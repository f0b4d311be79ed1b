import copy
import json

import pytest

from twainlora.core.sft import (
    STYLE_FRAMINGS,
    conversation_errors,
    dialogue_text,
    framing_of,
    grounding_errors,
    record_errors,
    ungrounded_numbers,
)
from twainlora.domain.weather import GET_WEATHER_TOOL

RESULT = {
    "location": "Paris, Île-de-France, France",
    "date": "2026-07-04",
    "temperature_c": 27,
    "temperature_f": 81,
    "condition": "Sunny",
    "wmo_code": 0,
    "precipitation_mm": 0.0,
    "wind_kph": 4,
    "humidity_pct": 60,
}


def episode(
    arguments='{"location": "Paris", "date": "2026-07-04"}',
    answer="Paris on July 4: sunny, 27°C (81°F).",
):
    return {
        "id": "tool:00001",
        "messages": [
            {
                "role": "system",
                "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] Be Twain.",
            },
            {"role": "user", "content": "Weather in Paris on July 4?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(RESULT)},
            {"role": "assistant", "content": answer},
        ],
        "tools": [GET_WEATHER_TOOL],
        "tags": {
            "persona": "twain",
            "tone": "humorous",
            "domain": "weather",
            "source": "synthetic",
            "template": "tool_success",
            "synthetic": True,
        },
        "provenance": [],
    }


def test_a_good_episode_passes():
    assert record_errors(episode()) == [] and grounding_errors(episode()) == []


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ('{"location": "Paris"}', "arguments of 'get_weather': 'date' is a required property"),
        (
            '{"location": "Paris", "date": 20260704}',
            "arguments of 'get_weather': 20260704 is not of type 'string'",
        ),
        ("{'location': 'Paris'}", "arguments of 'get_weather' are not JSON"),
    ],
)
def test_malformed_calls_are_caught(arguments, error):
    assert any(error in e for e in record_errors(episode(arguments)))


def test_a_call_to_a_tool_not_offered():
    record = episode()
    record["messages"][2]["tool_calls"][0]["function"]["name"] = "get_time"
    assert record_errors(record) == ["messages/2: calls 'get_time', which is not among the tools"]


def test_structure_errors():
    record = episode()
    record["messages"][3]["tool_call_id"] = "call_9"
    errors = conversation_errors(record)
    assert "messages/3: tool turn answers no open call ('call_9')" in errors
    record = episode()
    del record["messages"][4]
    assert "the conversation must end with an assistant answer in text" in record_errors(record)
    record = episode()
    record["messages"][1]["role"] = "narrator"
    assert record_errors(record)[0].startswith("messages/1:")
    record = episode()
    record["tags"]["template"] = "tool_mystery"
    assert record_errors(record)[0].startswith("tags/template:")


def test_a_hallucinated_number_is_caught():
    record = episode(answer="Paris on July 4: sunny, 31°C, wind 4 km/h.")
    assert grounding_errors(record) == ["messages/4: numbers not in the tool result: ['31']"]


def test_ungrounded_numbers_accepts_values_dates_and_conversions_given():
    assert ungrounded_numbers("July 4, 2026: 27°C / 81°F, 0 mm, 60%", RESULT) == []
    assert ungrounded_numbers("-3°C", {"temperature_c": -3}) == []
    assert ungrounded_numbers("It will be 80°F", RESULT) == ["80"]
    error = {"error": "timeout", "message": "try again"}
    assert ungrounded_numbers("The service is down; I will not guess.", error) == []
    assert ungrounded_numbers("It is down, but I'd say 20 degrees.", error) == ["20"]


def test_tool_result_must_be_json():
    record = copy.deepcopy(episode())
    record["messages"][3]["content"] = "sunny and warm"
    assert "messages/3: tool result is not JSON" in record_errors(record)


def test_dialogue_text_and_framing_with_and_without_a_system_prompt():
    user = {"role": "user", "content": "As Mark Twain, tell me about Mondays."}
    answer = {"role": "assistant", "content": "Mondays are a conspiracy."}
    bare = {"messages": [user, answer]}
    plain = {"messages": [{"role": "system", "content": "You are Mark Twain."}, user, answer]}
    tokens = {
        "messages": [{"role": "system", "content": "[PERSONA=TWAIN] [TONE=WRY] [DOMAIN=GENERAL]"}]
        + [user, answer]
    }
    for record in (bare, plain, tokens):
        assert dialogue_text(record) == f"{user['content']}\n{answer['content']}"
    assert [framing_of(r) for r in (tokens, plain, bare)] == list(STYLE_FRAMINGS)
