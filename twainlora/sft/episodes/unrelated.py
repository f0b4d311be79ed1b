"""Requests that need no forecast although the weather tool is on offer, with answers worked
out from the episode's world: where a city is and how many live there, what day a date falls
on, a temperature or distance converted, a sum; and talk about a city (what to see, where to
eat) answered with what the world knows and the forecast offered. Many name a place, a date or
a temperature, so the model learns that a city or "tomorrow" in a request is not by itself a
reason to call.

The held-out evaluation asks its own unrelated requests (twainlora/eval/heldout_phrases.py);
none of these phrasings is among them.
"""

from __future__ import annotations

import datetime as dt
import random

from twainlora.domain.weather import City
from twainlora.sft.episodes.dates import MONTHS, WEEKDAYS, human_date

# (question, whether the answer gives the population)
CITY_QUESTIONS = [
    ("Where is {city}?", False),
    ("Which region is {city} part of?", False),
    ("How many people live in {city}?", True),
    ("Is {city} a big place?", True),
    ("Where exactly is {city}? I can never remember.", False),
    ("{city} - which part of the world is that?", False),
    ("I'm reading about {city}. Where is it, and how big?", True),
]
# About a city, but nothing a forecast answers: no guidebook here, so the answer says what the
# world knows (where it is, how big) and offers the forecast instead of calling for one.
CITY_TALK = [
    "What is {city} known for?",
    "Recommend a good place to eat in {city}.",
    "What should I see if I spend a day in {city}?",
    "Is {city} a nice place to live?",
    "How do people get around in {city}?",
    "I'm moving to {city}. Any tips?",
    "Tell me something interesting about {city}.",
]
CITY_TALK_ANSWERS = {
    "twain": [
        "I never set foot in {name}, and I won't play guidebook to a town I don't know. It lies "
        "in {where}, and about {people} people live there; ask one of them. If you want its "
        "weather for a particular day, name the day.",
        "{name} is in {where}, home to some {people} souls, and that is the whole of my "
        "knowledge of it. A forecast I can fetch, if you tell me the day; the rest you must "
        "learn from a native.",
    ],
    "franklin": [
        "Of {name} I know only this: it lies in {where}, and about {people} people dwell there. "
        "A resident will advise you better than I. Should you want its forecast, name the day.",
    ],
    "neutral": [
        "I don't have travel information about {name}. It's in {where}, with about {people} "
        "residents. If you'd like the forecast there for a specific day, tell me which day.",
        "I can't recommend much about {name} beyond the basics: it's in {where} and about "
        "{people} people live there. I can check its weather for a given day if that helps.",
    ],
}
DATE_QUESTIONS = [
    ("What day of the week is it?", "weekday_today"),
    ("What's today's date?", "date_today"),
    ("What day of the week will it be {n} days from now?", "weekday_in"),
    ("What date is it {n} days from today?", "date_in"),
    ("How many days is it until {target}?", "days_until"),
    ("Which day of the week is {target}?", "weekday_of"),
    ("My rent is due in {n} days. What date is that?", "date_in"),
]
CONVERSIONS = [
    ("What is {c} degrees Celsius in Fahrenheit?", "c_to_f"),
    ("Convert {f}°F to Celsius.", "f_to_c"),
    ("A recipe says to bake at {f}°F. What is that in Celsius?", "f_to_c"),
    ("{c}°C - is that warm in Fahrenheit terms?", "c_to_f"),
    ("How many kilometres are {miles} miles?", "mi_to_km"),
    ("Convert {km} km to miles.", "km_to_mi"),
]
ARITHMETIC = [
    ("What's {a} times {b}?", "*"),
    ("What is {a} plus {b}?", "+"),
    ("Quick one: {a} minus {b}?", "-"),
    ("How much is {a} multiplied by {b}?", "*"),
]
# A closing remark in the persona's voice; no numbers, so it never contradicts the answer.
REMARKS = {
    "twain": [
        "",
        "",
        "Facts are stubborn things, but they are easier to carry than opinions.",
        "I looked it up rather than guessed, which is a habit I recommend.",
        "Arithmetic is the one subject nobody has ever lied about successfully.",
    ],
    "franklin": [
        "",
        "",
        "Exactness in small things saves trouble in great ones.",
        "A fact well kept is worth a dozen guesses.",
    ],
    "neutral": ["", "", "Anything else I can help with?"],
}
KINDS = ("city", "city_talk", "date", "conversion", "arithmetic")


def _with_remark(rng: random.Random, persona: str, answer: str) -> str:
    remark = rng.choice(REMARKS[persona])
    return f"{answer} {remark}".strip()


def city_fact(rng: random.Random, city: City, mention: str) -> tuple[str, str]:
    template, with_population = rng.choice(CITY_QUESTIONS)
    where = f"{city.admin}, {city.country}" if city.admin else city.country
    if with_population:
        people = f"{round(city.population, -3):,}"
        return template.format(
            city=mention
        ), f"{city.name} is in {where}; about {people} people live there."
    return template.format(city=mention), f"{city.name} is in {where}."


def city_talk(rng: random.Random, persona: str, city: City, mention: str) -> tuple[str, str]:
    where = f"{city.admin}, {city.country}" if city.admin else city.country
    answer = rng.choice(CITY_TALK_ANSWERS[persona]).format(
        name=city.name, where=where, people=f"{round(city.population, -3):,}"
    )
    return rng.choice(CITY_TALK).format(city=mention), answer


def date_fact(rng: random.Random, today: dt.date) -> tuple[str, str]:
    template, kind = rng.choice(DATE_QUESTIONS)
    n = rng.randint(2, 40)
    target_day = today + dt.timedelta(days=rng.randint(2, 60))
    target = f"{MONTHS[target_day.month - 1]} {target_day.day}"
    question = template.format(n=n, target=target)
    if kind == "weekday_today":
        return question, f"Today is {WEEKDAYS[today.weekday()]}."
    if kind == "date_today":
        return question, f"Today is {human_date(today)}, {today.year}."
    if kind == "weekday_of":
        return question, f"{target} is a {WEEKDAYS[target_day.weekday()]}."
    if kind == "days_until":
        days = (target_day - today).days
        return question, f"{target} is {days} days from today."
    later = today + dt.timedelta(days=n)
    if kind == "weekday_in":
        return question, f"In {n} days it will be {WEEKDAYS[later.weekday()]}."
    return question, f"{n} days from today is {human_date(later)}, {later.year}."


def conversion(rng: random.Random) -> tuple[str, str]:
    template, kind = rng.choice(CONVERSIONS)
    c = rng.randint(-20, 45)
    f = rng.randrange(250, 460, 25) if "bake" in template else rng.randint(-5, 110)
    miles, km = rng.randint(2, 300), rng.randint(2, 500)
    question = template.format(c=c, f=f, miles=miles, km=km)
    if kind == "c_to_f":
        return question, f"{c}°C is {round(c * 9 / 5 + 32)}°F."
    if kind == "f_to_c":
        return question, f"{f}°F is about {round((f - 32) * 5 / 9)}°C."
    if kind == "mi_to_km":
        return question, f"{miles} miles is about {round(miles * 1.609344, 1)} km."
    return question, f"{km} km is about {round(km / 1.609344, 1)} miles."


def arithmetic(rng: random.Random) -> tuple[str, str]:
    template, op = rng.choice(ARITHMETIC)
    a, b = rng.randint(11, 999), rng.randint(2, 99)
    value = {"*": a * b, "+": a + b, "-": a - b}[op]
    return template.format(a=a, b=b), f"{value}."


def unrelated_turn(
    rng: random.Random, kind: str, persona: str, today: dt.date, city: City, mention: str
) -> tuple[str, str]:
    """(request, answer) of one kind of KINDS, the answer ending with a remark in the
    persona's voice now and then."""
    if kind == "city":
        question, answer = city_fact(rng, city, mention)
    elif kind == "city_talk":
        return city_talk(rng, persona, city, mention)
    elif kind == "date":
        question, answer = date_fact(rng, today)
    elif kind == "conversion":
        question, answer = conversion(rng)
    elif kind == "arithmetic":
        question, answer = arithmetic(rng)
    else:
        raise ValueError(f"unknown kind {kind!r}; kinds: {KINDS}")
    return question, _with_remark(rng, persona, answer)
