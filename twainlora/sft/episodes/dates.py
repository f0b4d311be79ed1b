"""Dates as users say them and as answers name them, resolved against the episode's "today"."""

from __future__ import annotations

import datetime as dt
import random

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def human_date(d: dt.date) -> str:
    return f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}"


def explicit_date_phrase(rng: random.Random, d: dt.date) -> str:
    return rng.choice(
        [
            f"on {MONTHS[d.month - 1]} {d.day}",
            f"on {d.isoformat()}",
            f"on {d.day} {MONTHS[d.month - 1]} {d.year}",
            f"for {human_date(d)}",
            f"on {MONTHS[d.month - 1]} {d.day}, {d.year}",
        ]
    )


def date_sentence(rng: random.Random, today: dt.date) -> str:
    """How a system prompt states today's date: two of the three ways name the weekday."""
    return rng.choice(
        [
            f"Today is {human_date(today)}, {today.year}.",
            f"Today's date is {today.isoformat()}.",
            f"The current date is {today.isoformat()} ({WEEKDAYS[today.weekday()]}).",
        ]
    )


NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def relative_date(
    rng: random.Random, today: dt.date, weekdays: bool = True
) -> tuple[str, dt.date, str]:
    """(phrase, resolved date, what to call it in the answer), 0 to 8 days ahead. weekdays=False:
    never "on Friday", for a conversation that does not say which weekday today is. The held-out
    phrasings (twainlora.eval.heldout_phrases.NOVEL_RELATIVE) are none of these."""
    kinds = ["today", "tomorrow", "day_after", "weekday", "in_days", "in_a_week"]
    kind = rng.choice(kinds if weekdays else [k for k in kinds if k != "weekday"])
    if kind == "today":
        phrase = rng.choice(["today", "this afternoon", "right now", "tonight", "this evening"])
        return phrase, today, "today"
    if kind == "tomorrow":
        phrase = rng.choice(
            ["tomorrow", "tomorrow morning", "tomorrow afternoon", "tomorrow night"]
        )
        return phrase, today + dt.timedelta(days=1), "tomorrow"
    if kind == "day_after":
        phrase = rng.choice(["the day after tomorrow", "in two days", "in 2 days"])
        return phrase, today + dt.timedelta(days=2), "the day after tomorrow"
    if kind in ("in_days", "in_a_week"):
        n = 7 if kind == "in_a_week" else rng.randint(3, 8)
        d = today + dt.timedelta(days=n)
        if kind == "in_a_week":
            phrase = rng.choice(["in a week", "one week out", "in seven days"])
        else:
            phrase = f"in {rng.choice([str(n), NUMBER_WORDS[n]])} days"
        return phrase, d, f"on {human_date(d)}"
    ahead = rng.randint(2, 6)  # a weekday 2-6 days ahead: never today's, never ambiguous
    d = today + dt.timedelta(days=ahead)
    return (
        rng.choice([f"this {WEEKDAYS[d.weekday()]}", f"on {WEEKDAYS[d.weekday()]}"]),
        d,
        f"on {WEEKDAYS[d.weekday()]}",
    )
