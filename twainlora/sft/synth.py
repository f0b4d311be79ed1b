"""Synthetic gap-filling: weather jokes by place x season x condition, Twain-voiced retellings
of real absurd news, and tool episodes whose tool answers with unusable output.

Each builder turns a seeded choice of slots into a `Task` for a generator (twainlora.sft.generators)
and the generator's text into an SFT record tagged source=synthetic, synthetic=true. `generate`
runs them all; `keep` drops what near-duplicates a human-derived pair or an earlier synthetic one.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.seeded import components
from twainlora.core.sft import dialogue_text, grounding_errors, record_errors
from twainlora.data.dedupe import MinHashParams, duplicate_pairs
from twainlora.domain import personas
from twainlora.domain.weather import WeatherService
from twainlora.sft.episodes import (
    MONTHS,
    Episode,
    EpisodeBuilder,
    EpisodeParams,
    human_date,
)
from twainlora.sft.generators import GenerationError, Task
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
HARD_CAP_RATIO = 4.0


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
        f"Write one short, original joke in the voice of {personas.VOICE_OF['twain']} about "
        f"{slots['cond']} in {city.name}, {city.country} in {slots['season']}. One or two "
        "sentences. State no numbers."
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
        f"Retell this real news headline in {personas.VOICE_OF['twain']}'s voice, in two or three "
        f"sentences: {text}"
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
    phrase, day, _ = builder.relative_day(rng, episode, today)
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


@dataclass(frozen=True)
class SynthParams:
    generator: str  # templates | endpoint
    endpoint: EndpointConfig
    cache_dir: str
    seed: int
    counts: dict[str, int]  # weather_joke, style_transfer, bad_tool_output
    # Synthetic records at most this many times the human-derived pairs (hard limit 4).
    cap_ratio: float
    weather_comments: str
    persona_shares: dict[str, float]  # of the bad-tool-output episodes
    plain_system_share: float  # of their system prompts: without control tokens
    # Above this share of failed generations (endpoint down, bad answers) the stage fails and
    # leaves its previous outputs untouched; below it, failures are rejects with reasons.
    max_failed_share: float

    def __post_init__(self):
        if self.generator not in ("templates", "endpoint"):
            raise ValueError("generator must be 'templates' or 'endpoint'")
        if not 0.0 < self.cap_ratio <= HARD_CAP_RATIO:
            raise ValueError(f"cap_ratio must be within (0, {HARD_CAP_RATIO}]")
        unknown = set(self.counts) - {"weather_joke", "style_transfer", "bad_tool_output"}
        if unknown:
            raise ValueError(f"unknown synth kinds {sorted(unknown)}")

    def episode_params(self, n_episodes: int) -> EpisodeParams:
        """The bad-tool-output episodes: successful calls (the world and tool offer are the
        tool episodes' own sections)."""
        return EpisodeParams(
            n_episodes=n_episodes,
            seed=self.seed,
            case_shares={"success": 1.0},
            persona_shares=self.persona_shares,
            plain_system_share=self.plain_system_share,
        )


def capped(counts: dict[str, int], cap: int) -> dict[str, int]:
    total = sum(counts.values())
    if total <= cap:
        return dict(counts)
    return {k: int(v * cap / total) for k, v in counts.items()}


def headlines(records) -> list[tuple[str, str]]:
    """(id, text) of the real absurd headlines (r/nottheonion), the retellings' material."""
    return sorted(
        (r["id"], r["text"]) for r in records if r["meta"].get("subreddit") == "nottheonion"
    )


def generate(
    generator, ctx: SynthContext, news: list[tuple[str, str]], builder, counts: dict[str, int]
) -> tuple[list[dict], list[dict]]:
    """Records for counts[kind] tasks of each kind, and a reject for each failed generation."""
    from tqdm import tqdm

    records, rejects = [], []

    def attempt(kind, index, task, make):
        try:
            text = generator.generate(task)
        except GenerationError as e:
            rejects.append(
                {
                    "stage": "synth",
                    "id": f"synth:{kind}:{index:05d}",
                    "reason": "generation_failed",
                    "detail": str(e),
                    "prompt": task.prompt,
                }
            )
            return
        records.append(make(text))

    for i in tqdm(range(counts["weather_joke"]), desc="synth: jokes"):
        task, info = weather_joke_task(ctx, i)
        attempt(
            "joke",
            i,
            task,
            lambda text, i=i, task=task, info=info: weather_joke_record(i, task, info, text),
        )
    stride = max(1, len(news) // max(1, counts["style_transfer"]))
    for i, headline in enumerate(news[::stride][: counts["style_transfer"]]):
        task, info = style_transfer_task(headline, i, ctx.seed)
        attempt(
            "retell",
            i,
            task,
            lambda text, i=i, info=info: style_transfer_record(i, info, text),
        )
    for i in tqdm(range(counts["bad_tool_output"]), desc="synth: bad tool output"):
        episode, task = bad_tool_episode(builder, i, ctx.seed)
        attempt(
            "badtool",
            i,
            task,
            lambda text, i=i, episode=episode: bad_tool_record(i, episode, text),
        )
    return records, rejects


def dedupe_text(record: dict) -> str:
    """What makes two records the same: the answer, for a joke or a retelling (the training
    target); the whole conversation, for a tool episode (the same apology in a different
    situation still teaches something)."""
    return dialogue_text(record) if record.get("tools") else record["messages"][-1]["content"]


def keep(
    human: list[dict], records: list[dict], params: MinHashParams
) -> tuple[list[dict], list[dict]]:
    """(kept, rejects): never volume inflation, so a synthetic record that near-duplicates a
    human pair or an earlier synthetic one goes, and so does one that fails validation."""
    texts = [dedupe_text(r) for r in human] + [dedupe_text(r) for r in records]
    n_human = len(human)
    drop: dict[int, str] = {}
    for members in components(len(texts), duplicate_pairs(texts, params)):
        humans = [m for m in members if m < n_human]
        synthetic = [m - n_human for m in members if m >= n_human]
        first = None if humans else synthetic[0]
        for s in synthetic:
            if s != first:
                drop[s] = "duplicate_of_human" if humans else "duplicate_of_synthetic"
    kept, rejects = [], []
    for i, record in enumerate(records):
        errors = record_errors(record) or grounding_errors(record)
        reason = drop.get(i) or ("invalid" if errors else None)
        if reason:
            rejects.append(
                {
                    "stage": "synth",
                    "id": record["id"],
                    "reason": reason,
                    "detail": errors or "",
                    "record": record,
                }
            )
        else:
            kept.append(record)
    return kept, rejects
