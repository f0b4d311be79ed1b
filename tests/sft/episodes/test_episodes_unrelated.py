"""twainlora.sft.episodes.unrelated: the answers are worked out, not made up."""

import datetime as dt
import random
import re

import pytest

from twainlora.domain.weather import City
from twainlora.sft.episodes.unrelated import CITY_TALK_ANSWERS, KINDS, REMARKS, unrelated_turn

CITY = City("Hannibal", "Hannibal", "Missouri", "United States", "US", 39.7, -91.4, 17_000)
TODAY = dt.date(2026, 3, 2)  # a Monday


def answers(kind, n=200):
    return [
        unrelated_turn(random.Random(s), kind, "twain", TODAY, CITY, "Hannibal") for s in range(n)
    ]


def test_dates_are_counted_from_today():
    for question, answer in answers("date"):
        if question == "What day of the week is it?":
            assert answer.startswith("Today is Monday.")
        if m := re.match(r"What date is it (\d+) days from today\?", question):
            day = TODAY + dt.timedelta(days=int(m[1]))
            assert f"{day.day}, {day.year}" in answer


def test_conversions_and_sums_are_right():
    for question, answer in answers("conversion"):
        if m := re.match(r"What is (-?\d+) degrees Celsius in Fahrenheit\?", question):
            assert f"is {round(int(m[1]) * 9 / 5 + 32)}°F" in answer
    for question, answer in answers("arithmetic"):
        if m := re.match(r"What's (\d+) times (\d+)\?", question):
            assert answer.startswith(f"{int(m[1]) * int(m[2])}.")


def test_city_answers_place_the_city():
    for _, answer in answers("city", 30):
        assert answer.startswith("Hannibal is in Missouri, United States")


def test_city_talk_answers_from_the_world_and_offers_the_forecast():
    """Requests about a city that no forecast answers: where it is and how many live there,
    never a made-up sight, and the forecast offered (a day asked for), not called."""
    for persona in CITY_TALK_ANSWERS:
        for s in range(20):
            question, answer = unrelated_turn(
                random.Random(s), "city_talk", persona, TODAY, CITY, "Hannibal"
            )
            assert "Hannibal" in question and "Hannibal" in answer
            assert "Missouri, United States" in answer and "17,000" in answer
            assert "day" in answer


def test_remarks_state_no_numbers_and_kinds_are_checked():
    assert not any(re.search(r"\d", r) for rs in REMARKS.values() for r in rs)
    assert set(KINDS) == {"city", "city_talk", "date", "conversion", "arithmetic"}
    with pytest.raises(ValueError, match="unknown kind"):
        unrelated_turn(random.Random(0), "poetry", "twain", TODAY, CITY, "Hannibal")
