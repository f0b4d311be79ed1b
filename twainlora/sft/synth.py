"""Synthetic gap-filling: weather jokes by place x season x condition, Twain-voiced retellings
of real absurd news, and tool episodes whose tool answers with unusable output.

Each builder turns a seeded choice of slots into a `Task` for a generator (twainlora.sft.generators)
and the generator's text into an SFT record tagged source=synthetic, synthetic=true.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

from twainlora.domain import personas
from twainlora.domain.weather import WeatherService
from twainlora.sft.episodes import MONTHS, Episode, EpisodeBuilder, human_date, relative_date
from twainlora.sft.generators import Task
from twainlora.sft.instruct import sft_record

SEASONS_NORTH = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
JOKE_REQUESTS = [
    "Tell me a joke about the weather in {city}.",
    "Got a weather joke about {city} in {season}?",
    "Make me laugh about {cond} in {city}.",
    "What would Mark Twain say about {season} in {city}?",
    "Give me a funny line about {city} weather in {month}.",
    "Say something witty about {cond}.",
]
RETELL_REQUESTS = [
    "Tell this news the way Mark Twain would: {headline}",
    "How would Twain react to this headline? {headline}",
    "Retell this in Mark Twain's voice: {headline}",
]
MALFORMED_RESULTS = [
    {"location": None, "temperature_c": None, "condition": ""},
    {"status": 502, "data": {}},
    {"error": None, "result": []},
    {"temperature_c": "N/A", "condition": "undefined"},
    {},
]
SYNTH_TAGS = {"source": "synthetic", "synthetic": True}


def season_of(month: int, latitude: float) -> str:
    season = SEASONS_NORTH[month]
    return OPPOSITE[season] if latitude < 0 else season


@dataclass(frozen=True)
class SynthContext:
    service: WeatherService
    comments: dict[int, str]  # WMO code -> the mirror's chatty day commentary
    min_city_population: int
    seed: int


def weather_joke_task(ctx: SynthContext, index: int) -> tuple[Task, dict]:
    rng = random.Random(f"{ctx.seed}:joke:{index}")
    cities = [c for c in ctx.service.cities if c.population >= ctx.min_city_population]
    city = cities[rng.randrange(len(cities))]
    month = rng.randint(1, 12)
    weather = ctx.service.weather(city, dt.date(2026, month, rng.randint(1, 28)))
    cls = personas.condition_class(weather["wmo_code"])
    comment = (
        ctx.comments.get(weather["wmo_code"], "is about what you would expect").rstrip(".!").lower()
    )
    slots = {
        "city": city.name,
        "country": city.country,
        "season": season_of(month, city.lat),
        "month": MONTHS[month - 1],
        "cond": weather["condition"].lower(),
        "comment": comment,
    }
    prompt = (
        f"Write one short, original joke in the voice of Mark Twain about {slots['cond']} in "
        f"{city.name}, {city.country} in {slots['season']}. One or two sentences. State no numbers."
    )
    return Task(f"weather_joke/{cls}", f"{index}", prompt, slots), {"rng": rng, **slots}


def weather_joke_record(index: int, task: Task, info: dict, text: str) -> dict:
    rng = info["rng"]
    user = rng.choice(JOKE_REQUESTS).format(
        **{k: info[k] for k in ("city", "season", "cond", "month")}
    )
    tone = personas.PERSONA_TONE["twain"]
    tags = {"persona": "twain", "tone": tone, "domain": "weather", **SYNTH_TAGS}
    system = personas.system_prompt(rng, "twain", tone, "weather")
    record = sft_record(f"synth:joke:{index:05d}", "humor", system, user, text, tags, [])
    record["tags"].update(synthetic=True, case="weather_joke")
    return record


def style_transfer_task(headline: tuple[str, str], index: int, seed: int) -> tuple[Task, dict]:
    rid, text = headline
    rng = random.Random(f"{seed}:retell:{index}")
    lc = text[:1].lower() + text[1:].rstrip(".")
    prompt = (
        f"Retell this real news headline in Mark Twain's voice, in two or three sentences: {text}"
    )
    return Task("style_transfer", rid, prompt, {"headline": text, "headline_lc": lc}), {
        "rng": rng,
        "rid": rid,
        "headline": text,
    }


def style_transfer_record(index: int, info: dict, text: str) -> dict:
    rng = info["rng"]
    user = rng.choice(RETELL_REQUESTS).format(headline=info["headline"])
    tone = personas.PERSONA_TONE["twain"]
    tags = {"persona": "twain", "tone": tone, "domain": "general", **SYNTH_TAGS}
    record = sft_record(
        f"synth:retell:{index:05d}",
        "style_imitation",
        personas.system_prompt(rng, "twain", tone, "general"),
        user,
        text,
        tags,
        [info["rid"]],
    )
    record["tags"].update(synthetic=True, case="style_transfer")
    return record


def bad_tool_episode(builder: EpisodeBuilder, index: int, seed: int) -> tuple[Episode, Task]:
    """The call goes out; the tool answers JSON with the weather missing. The task is the
    answer: say so, invent nothing."""
    rng = random.Random(f"{seed}:badtool:{index}")
    episode, variant, today = builder.start(rng, "bad_tool_output")
    persona = episode.persona
    city = builder.pick_city(rng)
    loc = builder.mention(rng, city)
    phrase, day, _ = relative_date(rng, today)
    episode.messages.append({"role": "user", "content": builder.request(rng, loc, phrase, False)})
    builder.call(episode, variant, loc, day, False, result=dict(rng.choice(MALFORMED_RESULTS)))
    prompt = (
        f"You called a weather tool for {loc} on {human_date(day)} and it returned unusable output: "
        f"{episode.messages[-1]['content']}. In one or two sentences, in the voice of "
        f"{personas.VOICE_OF[persona]}, "
        "tell the user you could not get the weather, without inventing any."
    )
    return episode, Task(f"bad_tool_answer/{persona}", f"{index}", prompt, {"place": city.name})


def bad_tool_record(index: int, episode: Episode, text: str) -> dict:
    episode.messages.append({"role": "assistant", "content": text})
    return {
        "id": f"synth:badtool:{index:05d}",
        "messages": episode.messages,
        "tools": episode.tools,
        "tags": {
            "persona": episode.persona,
            "tone": personas.PERSONA_TONE[episode.persona],
            "domain": "weather",
            "template": "tool_api_error",
            "case": "bad_tool_output",
            **SYNTH_TAGS,
        },
        "provenance": [],
    }


def load_comments(path) -> dict[int, str]:
    with open(path, encoding="utf-8") as f:
        present = json.load(f)["present"]
    return {int(code): entry["day"]["comment"] for code, entry in present.items()}
