"""twainlora.sft.episodes.builder: every case builds a valid, grounded conversation."""

import json
import random

import pytest

from twainlora.core.params import from_dict
from twainlora.core.sft import grounding_errors, record_errors
from twainlora.domain.weather import WeatherService
from twainlora.sft.episodes import CASES, EpisodeBuilder, EpisodeParams, to_record

from conftest import FIXTURES, parsed_world, shipped_offer, shipped_params

SERVICE = WeatherService.from_csv(FIXTURES / "mirror/geo/cities.csv")


def params(**overrides):
    base = {
        **shipped_params()["tool_episodes"]["episodes"],
        **overrides,
    }
    return from_dict(EpisodeParams, base, "episodes")


@pytest.fixture(scope="module")
def builder():
    return EpisodeBuilder(
        SERVICE,
        params(),
        parsed_world(),
        shipped_offer(),
        jokes=[("reddit:x:000001", "Area Man Blames Weather For Everything")],
        maxims=[
            ("gutenberg:43855:s0000c000", '"Lost time is never found again," as Poor Richard says.')
        ],
    )


@pytest.mark.parametrize("case", CASES)
def test_every_case_validates_and_is_grounded(builder, case):
    for seed in range(25):
        record = to_record(seed, builder.build(seed, case, random.Random(seed)))
        assert record_errors(record) == [] and grounding_errors(record) == [], record
        calls = [c for m in record["messages"] for c in m.get("tool_calls") or []]
        if case == "irrelevant":
            assert calls == [] and record["tags"]["domain"] == "general"
        if case in ("success", "relative_date", "absent_date", "api_error", "unknown_location"):
            assert len(calls) == 1
        if case == "follow_up":
            assert len(calls) == 2
        if case == "missing_location":
            assert record["messages"][2]["role"] == "assistant" and not record["messages"][2].get(
                "tool_calls"
            )
        if case in ("api_error", "unknown_location"):
            assert "error" in json.loads(record["messages"][-2]["content"])
        if case == "session":  # one system prompt, several requests
            assert sum(m["role"] == "user" for m in record["messages"]) >= 2
            assert [m["role"] for m in record["messages"]].count("system") == 1


def test_the_called_arguments_resolve_to_the_answer_city(builder):
    for seed in range(40):
        record = to_record(seed, builder.build(seed, "success", random.Random(seed)))
        call = record["messages"][2]["tool_calls"][0]["function"]
        tool = next(t["function"] for t in record["tools"] if t["function"]["name"] == call["name"])
        location_key = next(
            k for k in tool["parameters"]["properties"] if k in ("location", "city", "place")
        )
        args = json.loads(call["arguments"])
        result = json.loads(record["messages"][3]["content"])
        assert SERVICE.resolve(args[location_key]).label == result["location"]


def test_system_prompts_do_not_give_the_case_away(builder):
    """Control tokens say DOMAIN=WEATHER in every case (an unrelated request included), and
    about plain_system_share of the prompts have none, as a user's own prompt has none."""
    prompts = {
        case: [builder.build(s, case, random.Random(s)).messages[0]["content"] for s in range(60)]
        for case in ("irrelevant", "success", "missing_location")
    }
    for case, texts in prompts.items():
        tagged = [t for t in texts if t.startswith("[PERSONA=")]
        assert all("[DOMAIN=WEATHER]" in t for t in tagged), case
        plain = [t for t in texts if "[" not in t]
        assert len(tagged) + len(plain) == len(texts)
        assert 0.2 < len(plain) / len(texts) < 0.6, case


def test_unrelated_requests_often_name_a_place_or_a_date(builder):
    requests = [
        builder.build(s, "irrelevant", random.Random(s)).messages[1]["content"] for s in range(80)
    ]
    cities = {c.name for c in builder.cities}
    assert any(any(c in r for c in cities) for r in requests)
    assert any("days" in r or "date" in r for r in requests)
    assert len(set(requests)) > 50


def test_every_case_has_its_method():
    assert list(EpisodeBuilder.CASE_METHODS) == list(CASES)


def test_start_draws_the_frame_and_request_asks_for_the_weather(builder):
    episode, variant, today = builder.start(random.Random(3), "bad_tool_output")
    assert [m["role"] for m in episode.messages] == ["system"]
    assert episode.case == "bad_tool_output" and variant.tool in episode.tools
    assert "[DOMAIN=WEATHER]" in episode.messages[0]["content"]
    text = builder.request(random.Random(0), "Hannibal", "tomorrow", fahrenheit=True)
    assert "Hannibal" in text and "tomorrow" in text and "Fahrenheit" in text


def test_a_weekday_is_asked_for_only_where_the_system_prompt_names_today_s(builder):
    weekdays = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    said = {True: 0, False: 0}
    for i in range(300):
        rng = random.Random(i)
        episode, _, today = builder.start(rng, "relative_date")
        named = today.strftime("%A") in episode.messages[0]["content"]
        phrase, day, _ = builder.relative_day(rng, episode, today)
        if phrase.split()[-1] in weekdays:
            said[named] += 1
            assert day.strftime("%A") == phrase.split()[-1]
    assert said[True] > 0 and said[False] == 0
