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


def relative_date(
    rng: random.Random, today: dt.date, weekdays: bool = True
) -> tuple[str, dt.date, str]:
    """(phrase, resolved date, what to call it in the answer). weekdays=False: never "on
    Friday", for a conversation that does not say which weekday today is."""
    kinds = ["today", "tomorrow", "day_after", "weekday", "in_days"]
    kind = rng.choice(kinds if weekdays else [k for k in kinds if k != "weekday"])
    if kind == "today":
        return rng.choice(["today", "this afternoon", "right now"]), today, "today"
    if kind == "tomorrow":
        return (
            rng.choice(["tomorrow", "tomorrow morning"]),
            today + dt.timedelta(days=1),
            "tomorrow",
        )
    if kind == "day_after":
        return "the day after tomorrow", today + dt.timedelta(days=2), "the day after tomorrow"
    if kind == "in_days":
        n = rng.randint(3, 6)
        d = today + dt.timedelta(days=n)
        return f"in {n} days", d, f"on {human_date(d)}"
    ahead = rng.randint(2, 6)  # a weekday 2-6 days ahead: never today's, never ambiguous
    d = today + dt.timedelta(days=ahead)
    return (
        rng.choice([f"this {WEEKDAYS[d.weekday()]}", f"on {WEEKDAYS[d.weekday()]}"]),
        d,
        f"on {WEEKDAYS[d.weekday()]}",
    )
