import datetime as dt
import json
import random
from collections import Counter

import pytest

from twainlora.core.params import from_dict
from twainlora.core.sft import grounding_errors, record_errors
from twainlora.domain.weather import GET_WEATHER_TOOL, WeatherService
from twainlora.sft.episodes import (
    CASES,
    SEED_VARIANT,
    EpisodeBuilder,
    EpisodeParams,
    case_plan,
    offered_tools,
    relative_date,
    to_record,
    varied_tool,
)

from conftest import FIXTURES, shipped_params

SERVICE = WeatherService.from_csv(FIXTURES / "mirror/geo/cities.csv")


def params(**overrides):
    base = {
        **shipped_params()["tool_episodes"]["episodes"],
        "min_city_population": 10_000,
        **overrides,
    }
    return from_dict(EpisodeParams, base, "episodes")


@pytest.fixture(scope="module")
def builder():
    return EpisodeBuilder(
        SERVICE,
        params(),
        jokes=[("reddit:x:000001", "Area Man Blames Weather For Everything")],
        maxims=[
            ("gutenberg:43855:s0000c000", '"Lost time is never found again," as Poor Richard says.')
        ],
    )


def test_case_plan_hits_the_shares_exactly():
    p = params(n_episodes=1000)
    plan = case_plan(p)
    assert len(plan) == 1000
    assert {c: n / 1000 for c, n in Counter(plan).items()} == pytest.approx(dict(p.case_shares))
    assert plan == case_plan(p)


def test_params_reject_unknown_cases_and_bad_shares():
    with pytest.raises(Exception, match="unknown cases"):
        params(case_shares={"success": 0.5, "weird": 0.5})
    with pytest.raises(Exception, match="must sum to 1"):
        params(case_shares={"success": 0.5})


@pytest.mark.parametrize("case", CASES)
def test_every_case_validates_and_is_grounded(builder, case):
    for seed in range(25):
        record = to_record(seed, builder.build(seed, case, random.Random(seed)))
        assert record_errors(record) == [] and grounding_errors(record) == [], record
        assert record["messages"][0]["content"].startswith("[PERSONA=")
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


def test_relative_dates_resolve_against_today():
    today = dt.date(2026, 7, 1)  # a Wednesday
    for seed in range(50):
        phrase, day, _ = relative_date(random.Random(seed), today)
        if phrase.startswith("tomorrow"):
            assert day == dt.date(2026, 7, 2)
        if phrase.split()[-1] in (
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ):
            assert 2 <= (day - today).days <= 6 and phrase.endswith(day.strftime("%A"))


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


def test_schema_variants_differ_but_keep_the_two_required_roles():
    rng = random.Random(0)
    variants = [varied_tool(rng) for _ in range(50)]
    assert len({json.dumps(v.tool, sort_keys=True) for v in variants}) > 40
    for v in variants:
        required = v.tool["function"]["parameters"]["required"]
        assert sorted(required) == sorted([v.location_key, v.date_key])
    assert SEED_VARIANT.tool is GET_WEATHER_TOOL


def test_every_case_has_its_method():
    assert list(EpisodeBuilder.CASE_METHODS) == list(CASES)


def test_offered_tools_follow_the_shares_and_the_distractor_cap():
    for seed in range(50):
        variant, tools = offered_tools(random.Random(seed), 1.0, 1.0, max_distractors=1)
        assert variant == SEED_VARIANT and len(tools) == 2 and GET_WEATHER_TOOL in tools
    counts = {len(offered_tools(random.Random(s), 0.0, 1.0)[1]) for s in range(50)}
    assert counts == {2, 3}
    variant, tools = offered_tools(random.Random(0), 0.0, 0.0)
    assert tools == [variant.tool] and variant != SEED_VARIANT
