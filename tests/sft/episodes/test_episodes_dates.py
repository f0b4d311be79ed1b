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


def test_every_relative_phrase_resolves_0_to_8_days_ahead_and_none_is_held_out():
    from twainlora.eval.heldout_phrases import NOVEL_RELATIVE

    today = dt.date(2026, 12, 29)  # the week crosses into the next year
    offsets = {}
    for seed in range(400):
        phrase, day, _ = relative_date(random.Random(seed), today)
        offsets[phrase] = (day - today).days
    assert offsets["tomorrow night"] == 1 and offsets["in two days"] == 2
    assert offsets["in a week"] == 7 and offsets["in 8 days"] == 8
    assert offsets["in five days"] == 5 and dt.date(2027, 1, 5) == today + dt.timedelta(7)
    assert set(offsets.values()) == set(range(9))
    assert not set(offsets) & {phrase for phrase, _ in NOVEL_RELATIVE}


def test_human_date_names_weekday_month_and_day():
    assert human_date(dt.date(2026, 7, 1)) == "Wednesday, July 1"
