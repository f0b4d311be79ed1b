"""twainlora.sft.episodes.dates."""

import datetime as dt
import random

from twainlora.sft.episodes import human_date, relative_date


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


def test_human_date_names_weekday_month_and_day():
    assert human_date(dt.date(2026, 7, 1)) == "Wednesday, July 1"
