"""Held-out decision scoring on real held-out items (the builder on the fixture cities): replies
that must pass and replies that must fail, per kind; the intervals; degeneration."""

import json

import pytest

from twainlora.core.params import from_dict
from twainlora.domain.weather import WeatherService, WeatherWorld
from twainlora.eval import compare, decisions, heldout

from conftest import fixture_world, shipped_params


@pytest.fixture(scope="module")
def builder():
    params = from_dict(heldout.HeldoutParams, shipped_params()["heldout"], "heldout")
    world = from_dict(WeatherWorld, fixture_world(), "weather_world")
    service = WeatherService.from_csv(world.cities)
    return heldout.HeldoutBuilder(service, params, world, set(), [("Emma", "Jane Austen")], ["A"])


def call(name: str, arguments: dict) -> str:
    return f'<tool_call>{{"name": "{name}", "arguments": {json.dumps(arguments)}}}</tool_call>'


@pytest.mark.parametrize("novel", [False, True])
def test_calls_are_scored_on_function_place_and_date(builder, novel):
    item = builder.tool_item("call_explicit", 3, novel)
    e = item["expect"]
    good = call(e["function"], {e["location_key"]: e["location"], e["date_key"]: e["date"]})
    assert decisions.score_decision(item, good) == {
        "calls_when_it_should": True,
        "right_function_and_arguments": True,
        "location_right": True,
        "date_right_explicit": True,
    }
    city = e["location"].split(",")[0]
    short = call(e["function"], {e["location_key"]: city, e["date_key"]: e["date"]})
    assert decisions.score_decision(item, short)["location_right"]
    wrong_day = call(e["function"], {e["location_key"]: city, e["date_key"]: "1999-01-01"})
    outcome = decisions.score_decision(item, wrong_day)
    assert outcome["location_right"] and not outcome["date_right_explicit"]
    wrong_key = call(e["function"], {"location": city, "when": e["date"]})
    if e["date_key"] != "when" and e["location_key"] != "location":
        assert not decisions.score_decision(item, wrong_key)["right_function_and_arguments"]
    unoffered = call("some_other_tool", {e["location_key"]: city, e["date_key"]: e["date"]})
    assert not decisions.score_decision(item, unoffered)["calls_when_it_should"]
    assert not decisions.score_decision(item, "It will be sunny.")["calls_when_it_should"]


def test_relative_dates_count_under_their_own_rate(builder):
    item = builder.tool_item("call_relative", 0, False)
    e = item["expect"]
    good = call(e["function"], {e["location_key"]: e["location"], e["date_key"]: e["date"]})
    assert decisions.score_decision(item, good)["date_right_relative"]


def test_abstentions(builder):
    unrelated = builder.tool_item("unrelated", 0, True)
    e = unrelated["expect"]
    assert decisions.score_decision(unrelated, "Canberra.") == {"no_call_when_unrelated": True}
    forced = call(e["function"], {e["location_key"]: "Paris", e["date_key"]: "2026-01-01"})
    assert decisions.score_decision(unrelated, forced) == {"no_call_when_unrelated": False}
    place = builder.tool_item("missing_place", 0, False)
    assert decisions.score_decision(place, "Which town, friend?")["asks_for_missing_place"]
    assert not decisions.score_decision(place, "Sunny, 20 degrees.")["asks_for_missing_place"]
    # a question that forecasts anyway is a forecast for nowhere
    assert not decisions.score_decision(place, "Where? It'll be sunny.")["asks_for_missing_place"]
    assert not decisions.score_decision(place, "Which town? Expect 20C.")["asks_for_missing_place"]


def test_a_missing_date_may_be_asked_for_or_taken_as_today(builder):
    item = builder.tool_item("missing_date", 0, False)
    e = item["expect"]
    today = call(e["function"], {e["location_key"]: e["location"], e["date_key"]: e["date"]})
    other = call(e["function"], {e["location_key"]: e["location"], e["date_key"]: "2001-02-03"})
    assert decisions.score_decision(item, "Which day do you mean?")["missing_date_handled"]
    assert decisions.score_decision(item, today)["missing_date_handled"]
    assert not decisions.score_decision(item, other)["missing_date_handled"]


def test_answers_after_the_tool_are_grounded_or_not(builder):
    item = builder.tool_item("after_result", 1, False)
    result = item["expect"]["result"]
    grounded = f"Expect {result['temperature_c']}°C and {result['condition'].lower()}."
    outcome = decisions.score_decision(item, grounded)
    assert outcome == {"no_call_after_result": True, "answer_grounded_in_result": True}
    invented = f"Expect {result['temperature_c'] + 7}°C."
    assert not decisions.score_decision(item, invented)["answer_grounded_in_result"]
    e = item["expect"]
    again = call(e["function"], {e["location_key"]: "X", e["date_key"]: "2026-01-01"})
    assert not decisions.score_decision(item, again)["no_call_after_result"]
    error = builder.tool_item("after_error", 2, True)
    said = decisions.score_decision(error, "The weather service failed; I can't say.")
    assert said == {"no_call_after_error": True, "says_error_invents_nothing": True}
    assert not decisions.score_decision(error, "It is 21°C and sunny.")[
        "says_error_invents_nothing"
    ]


def test_metrics_give_every_rate_with_its_interval_and_the_novel_split(builder):
    items = [builder.tool_item(k, i, i % 2 == 0) for k in heldout.TOOL_KINDS for i in range(4)]
    metrics = decisions.decision_metrics(items, ["Which place and day?"] * len(items))
    assert set(metrics) == set(decisions.RATES)
    assert metrics["no_call_when_unrelated"] == {
        "rate": 1.0,
        "ci95": compare.wilson(4, 4),
        "n": 4,
        "seen": 1.0,
        "novel": 1.0,
    }
    assert (
        metrics["calls_when_it_should"]["rate"] == 0.0 and metrics["calls_when_it_should"]["n"] == 8
    )


def test_wilson_interval():
    assert compare.wilson(0, 0) is None
    assert compare.wilson(0, 10) == (0.0, 0.2775)
    assert compare.wilson(10, 10) == (0.7225, 1.0)
    lo, hi = compare.wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)


def test_degeneration():
    loop = "He must have a plan. He must have a plan. He must have a plan."
    assert decisions.repeats_itself(loop)
    assert not decisions.repeats_itself("He must have a plan, and a good one, by morning.")
    assert decisions.distinct_n(["a b a b a b"]) == 0.4  # 2 distinct of 5 bigrams
    summary = decisions.degeneration([loop, "Fine weather for ducks."])
    assert summary["repeats_4gram_3x"]["rate"] == 0.5 and summary["distinct_2"] < 1.0
