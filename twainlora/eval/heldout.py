"""Held-out evaluation sets, built from the data: tool-use decisions and style prompts that no
train split holds, each with what a good reply must do, derived from the tool schema and the
offline weather service (never a hand-written answer).

Tool items, by kind (what the reply to the last turn must do):
  call_explicit   call the weather tool for a named place and an explicit date
  call_relative   the same with "tomorrow", "on Friday", ... resolved against today's date
  missing_place   no call: ask where
  missing_date    ask which day, or call for today's date
  unrelated       no call: general questions, other domains, small talk, weather words that
                  need no forecast (a city named, a poem about fog)
  after_error     the tool failed or knew no such place: no new call, say so, invent nothing
  after_result    the tool answered: no new call, answer from the result, no other number
A share of the items (`novel_share`) offers another weather tool's schema (function,
parameter names, descriptions; twainlora/eval/heldout_phrases.py) under another system
prompt and asks in phrasings no training example uses; the rest ask the way the training
data does, about cities that no train example names.

Tool items come from deployments, as an application serves its users: one system prompt
(persona, today's date), one tool list, and about `items_per_deployment` requests of every
kind under it. That is how a served model meets tools, and it is what lets the engine's
prefix cache compute a deployment's ~200-token system prompt and tools once per model
instead of once per item (the evaluate stage's prompt tokens are most of its time).

Style items ask a persona (Twain, Franklin) for everyday opinions and weather jokes, framed
three ways: the data's control-token system prompt, a plain sentence ("You are Mark
Twain."), or no system prompt and the persona named in the request; plus held-out passages of
eval_style. Every item whose user text is a near-duplicate of a train example's is dropped
(a reject row says which).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from twainlora.core.records import reject
from twainlora.core.sft import STYLE_FRAMINGS, framing_of
from twainlora.data.dedupe import MinHashParams, duplicate_pairs
from twainlora.domain import personas
from twainlora.domain.weather import GET_WEATHER_TOOL, City, WeatherService, WeatherWorld
from twainlora.eval import heldout_phrases as P
from twainlora.sft.episodes import dates, phrases

log = logging.getLogger("twainlora.eval.heldout")

TOOL_KINDS = (
    "call_explicit",
    "call_relative",
    "missing_place",
    "missing_date",
    "unrelated",
    "after_error",
    "after_result",
)
STYLE_KINDS = ("twain", "franklin", "weather_joke", "passage")
TOOL_PERSONAS = {"twain": 0.5, "neutral": 0.3, "franklin": 0.2}
NOVEL_UNKNOWN_PLACES = ["Wakanda", "Lake Wobegon", "Sunnydale", "Springfield Gorge", "Vulcan"]
NOVEL_API_FAILURES = [
    {"error": "upstream 503", "detail": "forecast provider unreachable"},
    {"error": "quota exceeded", "detail": "daily request quota used up"},
]


@dataclass(frozen=True)
class HeldoutParams:
    seed: int
    tool_counts: dict[str, int]
    style_counts: dict[str, int]
    novel_share: float  # items with another tool's schema, system prompt and phrasing
    items_per_deployment: int  # tool items under one system prompt and tool list, on average

    def __post_init__(self):
        if set(self.tool_counts) != set(TOOL_KINDS):
            raise ValueError(f"tool_counts needs exactly {list(TOOL_KINDS)}")
        if set(self.style_counts) != set(STYLE_KINDS):
            raise ValueError(f"style_counts needs exactly {list(STYLE_KINDS)}")
        if not 0.0 <= self.novel_share <= 1.0:
            raise ValueError("novel_share must be within [0, 1]")
        if self.items_per_deployment < 1:
            raise ValueError("items_per_deployment must be >= 1")

    def novel_count(self, kind: str) -> int:
        """How many of a tool kind's items offer another tool's schema and phrasing."""
        return round(self.novel_share * self.tool_counts[kind])

    def deployments(self, novel: bool) -> int:
        """How many deployments the novel (or the other) tool items are spread over."""
        novel_items = sum(self.novel_count(kind) for kind in TOOL_KINDS)
        items = novel_items if novel else sum(self.tool_counts.values()) - novel_items
        return max(1, math.ceil(items / self.items_per_deployment))


@dataclass(frozen=True)
class Schema:
    """A weather tool as offered: its JSON schema and the names of its two parameters."""

    tool: dict
    location_key: str = "location"
    date_key: str = "date"

    @property
    def name(self) -> str:
        return self.tool["function"]["name"]


@dataclass(frozen=True)
class Deployment:
    """What tool items under one application share: everything before the user's turn."""

    id: str
    persona: str
    today: dt.date
    schema: Schema
    tools: list[dict]
    system: str

    @property
    def names_weekday(self) -> bool:
        """Whether the system prompt says which weekday today is: without it "on Friday"
        has no answer a model could work out."""
        return dates.WEEKDAYS[self.today.weekday()] in self.system


def novel_schema(rng: random.Random) -> Schema:
    loc, day = rng.choice(P.NOVEL_LOCATION_KEYS), rng.choice(P.NOVEL_DATE_KEYS)
    tool = {
        "type": "function",
        "function": {
            "name": rng.choice(P.NOVEL_TOOL_NAMES),
            "description": rng.choice(P.NOVEL_TOOL_DESCRIPTIONS),
            "parameters": {
                "type": "object",
                "properties": {
                    loc: {
                        "type": "string",
                        "description": rng.choice(P.NOVEL_LOCATION_DESCRIPTIONS),
                    },
                    day: {"type": "string", "description": rng.choice(P.NOVEL_DATE_DESCRIPTIONS)},
                },
                "required": [loc, day],
            },
        },
    }
    return Schema(tool, loc, day)


def train_cities(service: WeatherService, records: Sequence[dict]) -> set[str]:
    """Labels of the cities that train examples' tool calls name."""
    named = set()
    for record in records:
        for message in record["messages"]:
            for call in message.get("tool_calls") or []:
                arguments = json.loads(call["function"]["arguments"])
                for value in arguments.values():
                    city = service.resolve(value) if isinstance(value, str) else None
                    if city is not None:
                        named.add(city.label)
    return named


def user_text(messages: Sequence[dict]) -> str:
    """What the user said, all turns: the text held-out prompts are compared on."""
    return "\n".join(m["content"] for m in messages if m["role"] == "user" and m.get("content"))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class HeldoutBuilder:
    def __init__(
        self,
        service: WeatherService,
        params: HeldoutParams,
        world: WeatherWorld,
        excluded_cities: set[str],
        books: Sequence[tuple[str, str]],
        headlines: Sequence[str],
    ):
        self.service = service
        self.params = params
        # Cities named the same way by every user: the bare name resolves to this city.
        named = sorted(
            (
                c
                for c in service.cities
                if c.population >= world.min_city_population and service.resolve(c.name) == c
            ),
            key=lambda c: (c.country, c.admin, c.name),
        )
        if not named:
            raise ValueError(f"no city of {world.min_city_population}+ people to ask about")
        self.cities = [c for c in named if c.label not in excluded_cities]
        # A small city list may be all in train already: then the prompts still differ (the
        # near-duplicate check), but the places do not; metrics say so (unseen_cities).
        self.unseen_cities = bool(self.cities)
        if not self.cities:
            log.warning("every city is named in train; held-out items reuse them")
            self.cities = named
        self.books = sorted(set(books))
        self.headlines = sorted(set(headlines))
        self.unknown_places = [
            p for p in phrases.UNKNOWN_PLACES + NOVEL_UNKNOWN_PLACES if service.resolve(p) is None
        ]
        self.first_day, self.days = world.reference_days()
        self._deployments: dict[tuple[int, bool], Deployment] = {}

    # -- pieces --
    def place(self, rng: random.Random) -> tuple[City, str]:
        city = self.cities[rng.randrange(len(self.cities))]
        return city, city.name if rng.random() < 0.6 else f"{city.name}, {city.country}"

    def system_prompt(self, rng, persona: str, today: dt.date, novel: bool) -> str:
        if novel:
            sentence = rng.choice(P.NOVEL_DATE_SENTENCES).format(
                iso=today.isoformat(),
                weekday=dates.WEEKDAYS[today.weekday()],
                day=today.day,
                month=dates.MONTHS[today.month - 1],
                year=today.year,
            )
            return rng.choice(P.NOVEL_SYSTEM_PROMPTS[persona]).format(date_sentence=sentence)
        prompt = personas.system_prompt(rng, persona, personas.PERSONA_TONE[persona], "weather")
        return f"{prompt} {dates.date_sentence(rng, today)}"

    def tools(self, rng, novel: bool) -> tuple[Schema, list[dict]]:
        schema = novel_schema(rng) if novel else Schema(GET_WEATHER_TOOL)
        tools = [schema.tool]
        if rng.random() < 0.3:
            pool = P.NOVEL_DISTRACTORS if novel else phrases.DISTRACTORS
            tools.append({"type": "function", "function": rng.choice(pool)})
            rng.shuffle(tools)
        return schema, tools

    def explicit_day(self, rng, today: dt.date, novel: bool) -> tuple[str, dt.date]:
        day = today + dt.timedelta(days=rng.randint(0, 9))
        if novel:
            month, nth = dates.MONTHS[day.month - 1], ordinal(day.day)
            return rng.choice([f"on the {nth} of {month}", f"on {month} {nth}"]), day
        return dates.explicit_date_phrase(rng, day), day

    def relative_day(self, rng, deployment: Deployment, novel: bool) -> tuple[str, dt.date]:
        today = deployment.today
        if novel:
            phrase, offset = rng.choice(P.NOVEL_RELATIVE)
            return phrase, today + dt.timedelta(days=offset)
        phrase, day, _ = dates.relative_date(rng, today, weekdays=deployment.names_weekday)
        return phrase, day

    def request(self, rng, loc: str, when: str, novel: bool) -> str:
        return rng.choice(P.NOVEL_REQUESTS if novel else phrases.REQUESTS).format(
            loc=loc, when=when
        )

    @staticmethod
    def call_turns(schema: Schema, location: str, day: dt.date, result: dict) -> list[dict]:
        arguments = {schema.location_key: location, schema.date_key: day.isoformat()}
        return [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": schema.name, "arguments": json.dumps(arguments)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
        ]

    def unrelated_request(self, rng) -> str:
        kind = rng.randrange(5)
        if kind == 0:
            return rng.choice(P.UNRELATED_CITY).format(city=self.place(rng)[1])
        if kind == 1 and self.books:
            title, author = self.books[rng.randrange(len(self.books))]
            return rng.choice(P.UNRELATED_BOOK).format(title=title, author=author)
        if kind == 2 and self.headlines:
            headline = self.headlines[rng.randrange(len(self.headlines))]
            return rng.choice(P.UNRELATED_HEADLINE).format(headline=headline)
        if kind == 3:
            return rng.choice(P.UNRELATED_WEATHER_WORDS).format(
                condition=rng.choice(P.CONDITIONS),
                idiom=rng.choice(P.IDIOMS),
                phenomenon=rng.choice(P.PHENOMENA),
            )
        return rng.choice(P.UNRELATED_OTHER)

    # -- items --
    def deployment(self, index: int, novel: bool) -> Deployment:
        if (index, novel) in self._deployments:
            return self._deployments[index, novel]
        rng = random.Random(f"{self.params.seed}:deployment:{novel}:{index}")
        persona = rng.choices(list(TOOL_PERSONAS), weights=list(TOOL_PERSONAS.values()))[0]
        today = self.first_day + dt.timedelta(days=rng.randint(0, self.days))
        schema, tools = self.tools(rng, novel)
        system = self.system_prompt(rng, persona, today, novel)
        name = f"{'novel' if novel else 'plain'}:{index:03d}"
        made = Deployment(name, persona, today, schema, tools, system)
        self._deployments[index, novel] = made
        return made

    def tool_item(self, kind: str, index: int, novel: bool) -> dict:
        rng = random.Random(f"{self.params.seed}:tool:{kind}:{index}")
        deployment = self.deployment(rng.randrange(self.params.deployments(novel)), novel)
        persona, today, schema = deployment.persona, deployment.today, deployment.schema
        messages = [{"role": "system", "content": deployment.system}]
        expect: dict = {"call": False}
        if kind in ("call_explicit", "call_relative", "after_result", "after_error"):
            city, loc = self.place(rng)
            if kind == "call_explicit":
                when, day = self.explicit_day(rng, today, novel)
            else:
                when, day = self.relative_day(rng, deployment, novel)
            if kind == "after_error" and rng.random() < 0.5:
                loc = rng.choice(self.unknown_places)
            messages.append({"role": "user", "content": self.request(rng, loc, when, novel)})
            if kind.startswith("call_"):
                expect = {"call": True, "location": city.label, "date": day.isoformat()}
            elif kind == "after_result":
                result = self.service.get_weather(loc, day.isoformat())
                messages += self.call_turns(schema, loc, day, result)
                expect = {"call": False, "result": result}
            else:
                if self.service.resolve(loc) is None:
                    result = self.service.get_weather(loc, day.isoformat())
                else:
                    failures = NOVEL_API_FAILURES if novel else phrases.API_FAILURES
                    result = dict(rng.choice(failures))
                messages += self.call_turns(schema, loc, day, result)
                expect = {"call": False, "result": result}
        elif kind == "missing_place":
            when, _ = self.relative_day(rng, deployment, novel)
            bank = P.NOVEL_NO_PLACE_REQUESTS if novel else phrases.NO_PLACE_REQUESTS
            messages.append({"role": "user", "content": rng.choice(bank).format(when=when)})
            expect = {"call": False, "ask": "location"}
        elif kind == "missing_date":
            city, loc = self.place(rng)
            bank = P.NOVEL_NO_DATE_REQUESTS if novel else phrases.NO_DATE_REQUESTS
            messages.append({"role": "user", "content": rng.choice(bank).format(loc=loc)})
            # Asking which day is right; so is a call for today's date.
            expect = {
                "call": None,
                "ask": "date",
                "location": city.label,
                "date": today.isoformat(),
            }
        else:
            messages.append({"role": "user", "content": self.unrelated_request(rng)})
        expect |= {"function": schema.name, "location_key": schema.location_key}
        expect["date_key"] = schema.date_key
        return {
            "id": f"heldout:tool:{kind}:{index:04d}",
            "kind": kind,
            "novel": novel,
            "persona": persona,
            "deployment": deployment.id,
            "messages": messages,
            "tools": deployment.tools,
            "expect": expect,
        }

    def style_item(self, kind: str, index: int, passages: Sequence[dict]) -> dict | None:
        rng = random.Random(f"{self.params.seed}:style:{kind}:{index}")
        if kind == "passage":
            if not passages:
                return None
            record = passages[index % len(passages)]
            persona = record["tags"]["persona"]
            messages = [m for m in record["messages"] if m["role"] != "assistant"][:2]
            framing = framing_of(record)
        else:
            persona = "twain" if kind == "weather_joke" else kind
            framing = STYLE_FRAMINGS[index % len(STYLE_FRAMINGS)]
            if kind == "weather_joke":
                template = rng.choice(P.WEATHER_JOKE_REQUESTS)
                request = template.format(city=self.place(rng)[1], season=rng.choice(P.SEASONS))
            else:
                request = rng.choice(P.EVERYDAY_REQUESTS).format(
                    topic=rng.choice(P.EVERYDAY_TOPICS)
                )
            messages = self.framed(rng, persona, framing, request, kind)
        return {
            "id": f"heldout:style:{kind}:{index:04d}",
            "kind": kind,
            "persona": persona,
            "framing": framing,
            "messages": messages,
        }

    @staticmethod
    def framed(rng, persona: str, framing: str, request: str, kind: str) -> list[dict]:
        capitalized = request[:1].upper() + request[1:]
        if framing == "control_tokens":
            domain = "weather" if kind == "weather_joke" else "general"
            prompt = personas.system_prompt(rng, persona, personas.PERSONA_TONE[persona], domain)
            return [
                {"role": "system", "content": prompt},
                {"role": "user", "content": capitalized},
            ]
        if framing == "plain_system":
            return [
                {"role": "system", "content": rng.choice(P.PLAIN_SYSTEM[persona])},
                {"role": "user", "content": capitalized},
            ]
        text = rng.choice(P.IN_REQUEST).format(
            name=P.PERSONA_NAMES[persona], request=request, request_cap=capitalized
        )
        return [{"role": "user", "content": text}]


def near_duplicates(
    items: Sequence[dict], train_texts: Sequence[str], params: MinHashParams
) -> dict[int, int]:
    """{item index: train index} for every item whose user text is a near-duplicate (the
    dedupe stage's MinHash + Jaccard test) of a train example's user text."""
    texts = list(train_texts) + [user_text(i["messages"]) for i in items]
    n = len(train_texts)
    hits: dict[int, int] = {}
    for a, b, _ in duplicate_pairs(texts, params):
        if (a < n) != (b < n):
            item, train = (a - n, b) if a >= n else (b - n, a)
            hits.setdefault(item, train)
    return hits


def build(
    builder: HeldoutBuilder,
    passages: Sequence[dict],
    train_texts: Sequence[str],
    near_duplicate: MinHashParams,
) -> tuple[list[dict], list[dict], list[dict]]:
    """(tool items, style items, reject rows). Each kind draws three times its count of
    candidates; those whose user text is a near-duplicate of a train prompt are dropped (the
    data's own phrasings of a short request are mostly in train already), then the first
    `novel_share` of the count come from the novel candidates and the rest from the others
    (topped up with novel ones where too few are left)."""
    params = builder.params
    candidates: list[dict] = []
    for kind in TOOL_KINDS:
        n = 3 * params.tool_counts[kind]
        rng = random.Random(f"{params.seed}:novel:{kind}")
        flags = [rng.random() < params.novel_share for _ in range(n)]
        candidates += [builder.tool_item(kind, i, novel) for i, novel in enumerate(flags)]
    for kind in STYLE_KINDS:
        for i in range(3 * params.style_counts[kind]):
            if (item := builder.style_item(kind, i, passages)) is not None:
                candidates.append(item)
    hits = near_duplicates(candidates, train_texts, near_duplicate)
    kept = [c for k, c in enumerate(candidates) if k not in hits]
    tool = []
    for kind in TOOL_KINDS:
        count = params.tool_counts[kind]
        pool = [c for c in kept if c["id"].startswith("heldout:tool:") and c["kind"] == kind]
        novel = [c for c in pool if c["novel"]]
        plain = [c for c in pool if not c["novel"]]
        chosen = novel[: params.novel_count(kind)]
        chosen += plain[: count - len(chosen)]
        chosen += [c for c in novel if c not in chosen][: count - len(chosen)]
        tool += sorted(chosen, key=lambda c: c["id"])
    style = []
    for kind in STYLE_KINDS:
        pool = [c for c in kept if c["id"].startswith("heldout:style:") and c["kind"] == kind]
        style += pool[: params.style_counts[kind]]
    rejects = [
        reject(
            {"id": candidates[k]["id"], "text": user_text(candidates[k]["messages"])},
            "heldout",
            "near-duplicate of a train prompt",
            train_texts[t][:200],
        )
        for k, t in sorted(hits.items())
    ]
    return tool, style, rejects
