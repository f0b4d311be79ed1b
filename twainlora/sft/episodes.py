"""Tool-calling episodes for the `get_weather` tool, in OpenAI chat format.

Each episode is one case (params give the shares): a call that succeeds, a request with no
place (a question back), a relative or absent date, a service error, an unknown place, an
unrelated request with the tool on offer (no call), and follow-ups over several turns. The
schema's name, wording and optional parameters vary from episode to episode, and unrelated
"distractor" tools are sometimes offered beside it, so the model learns to read the schema
rather than memorize one.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from twainlora.core.seeded import allot
from twainlora.domain import personas
from twainlora.domain.weather import (
    DATE_KEYS,
    GET_WEATHER_TOOL,
    LOCATION_KEYS,
    City,
    WeatherService,
)

CASES = (
    "success",
    "relative_date",
    "absent_date",
    "missing_location",
    "api_error",
    "unknown_location",
    "irrelevant",
    "follow_up",
)
TEMPLATE_OF_CASE = {
    "success": "tool_success",
    "follow_up": "tool_success",
    "relative_date": "tool_missing_date",
    "absent_date": "tool_missing_date",
    "missing_location": "tool_missing_location",
    "api_error": "tool_api_error",
    "unknown_location": "tool_api_error",
    "irrelevant": "tool_irrelevant",
}
PERSONA_TONE = {"twain": "humorous", "franklin": "aphoristic", "neutral": "wry"}


@dataclass(frozen=True)
class EpisodeParams:
    n_episodes: int
    seed: int
    case_shares: dict[str, float]
    persona_shares: dict[str, float]
    seed_schema_share: float  # episodes offering the seed's schema exactly; the rest vary it
    distractor_share: float  # episodes that also offer unrelated tools
    first_reference_date: str  # "today" is drawn from this range (ISO dates)
    last_reference_date: str
    min_city_population: int

    def __post_init__(self):
        unknown = set(self.case_shares) - set(CASES)
        if unknown:
            raise ValueError(f"unknown cases {sorted(unknown)}; cases: {CASES}")
        if abs(sum(self.case_shares.values()) - 1.0) > 1e-6:
            raise ValueError("case_shares must sum to 1")
        if abs(sum(self.persona_shares.values()) - 1.0) > 1e-6:
            raise ValueError("persona_shares must sum to 1")


# --- schema variants ----------------------------------------------------------------------

TOOL_NAMES = [
    "get_weather",
    "get_current_weather",
    "weather_lookup",
    "fetch_weather",
    "get_forecast",
]
TOOL_DESCRIPTIONS = [
    "Get the weather for a location on a given date.",
    "Look up the weather forecast for a city and a day.",
    "Returns temperature, conditions and wind for a place on a date.",
    "Weather report for one city on one calendar day.",
    "Fetch the forecast. Call this whenever the user asks about weather conditions somewhere.",
]
LOCATION_DESCRIPTIONS = [
    "City name, optionally with region or country, e.g. 'Paris, France'",
    "The city to look up",
    "Name of the town or city, e.g. 'Hannibal' or 'Springfield, Illinois'",
]
DATE_DESCRIPTIONS = [
    "Date in ISO 8601 format (YYYY-MM-DD)",
    "The day, formatted YYYY-MM-DD",
    "Calendar date (ISO 8601)",
]
UNIT_KEYS = ["unit", "units", "temperature_unit"]

DISTRACTORS = [
    {
        "name": "get_time",
        "description": "Get the current local time in a time zone.",
        "parameters": {
            "type": "object",
            "properties": {
                "timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris"}
            },
            "required": ["timezone"],
        },
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount between currencies.",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from_currency": {"type": "string"},
                "to_currency": {"type": "string"},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
    },
    {
        "name": "search_books",
        "description": "Search a library catalogue by title or author.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    },
    {
        "name": "set_reminder",
        "description": "Set a reminder at a date and time.",
        "parameters": {
            "type": "object",
            "properties": {
                "text": {"type": "string"},
                "when": {"type": "string", "description": "ISO 8601 date-time"},
            },
            "required": ["text", "when"],
        },
    },
]


@dataclass(frozen=True)
class ToolVariant:
    tool: dict
    location_key: str = "location"
    date_key: str = "date"
    unit_key: str | None = None

    @property
    def name(self) -> str:
        return self.tool["function"]["name"]


SEED_VARIANT = ToolVariant(GET_WEATHER_TOOL)


def varied_tool(rng: random.Random) -> ToolVariant:
    """A weather tool like the seed's in what it does, different in how its schema says it."""
    loc, day = rng.choice(LOCATION_KEYS), rng.choice(DATE_KEYS)
    properties = {
        loc: {"type": "string", "description": rng.choice(LOCATION_DESCRIPTIONS)},
        day: {"type": "string", "description": rng.choice(DATE_DESCRIPTIONS)},
    }
    unit_key = None
    if rng.random() < 0.5:
        unit_key = rng.choice(UNIT_KEYS)
        properties[unit_key] = {
            "type": "string",
            "enum": ["celsius", "fahrenheit"],
            "description": "Temperature unit (optional; default celsius)",
        }
    if rng.random() < 0.3:
        properties["include_wind"] = {
            "type": "boolean",
            "description": "Include wind speed (optional)",
        }
    order = list(properties)
    rng.shuffle(order)
    tool = {
        "type": "function",
        "function": {
            "name": rng.choice(TOOL_NAMES),
            "description": rng.choice(TOOL_DESCRIPTIONS),
            "parameters": {
                "type": "object",
                "properties": {k: properties[k] for k in order},
                "required": [loc, day] if rng.random() < 0.8 else [day, loc],
            },
        },
    }
    return ToolVariant(tool, loc, day, unit_key)


# --- dates --------------------------------------------------------------------------------

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


def relative_date(rng: random.Random, today: dt.date) -> tuple[str, dt.date, str]:
    """(phrase, resolved date, what to call it in the answer)."""
    kind = rng.choice(["today", "tomorrow", "day_after", "weekday", "in_days"])
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


# --- user requests ------------------------------------------------------------------------

REQUESTS = [
    "What's the weather in {loc} {when}?",
    "How's the weather looking in {loc} {when}?",
    "Will it rain in {loc} {when}?",
    "Do I need an umbrella in {loc} {when}?",
    "Is it going to be cold in {loc} {when}?",
    "weather {loc} {when}",
    "Give me the forecast for {loc} {when}.",
    "I'm headed to {loc} {when}. What should I expect, weather-wise?",
    "Tell me about the weather in {loc} {when}, and make it funny.",
    "{loc} weather {when}, please",
    "What will it be like outside in {loc} {when}?",
    "Any chance of sunshine in {loc} {when}?",
    "Should I pack a coat for {loc} {when}?",
    "Check the weather for {loc} {when} for me.",
]
FAHRENHEIT_SUFFIXES = [" In Fahrenheit, please.", " Give me the temperature in Fahrenheit."]
NO_PLACE_REQUESTS = [
    "What's the weather going to be {when}?",
    "Will it rain {when}?",
    "Do I need an umbrella {when}?",
    "How cold will it be {when}?",
    "What's the forecast {when}?",
]
NO_DATE_REQUESTS = [
    "What's the weather in {loc}?",
    "How's the weather in {loc}?",
    "Weather for {loc}?",
    "Tell me the forecast for {loc}.",
]
UNKNOWN_PLACES = [
    "Atlantis",
    "Gotham City",
    "Narnia",
    "El Dorado",
    "Springfeld",
    "Lilliput",
    "Parris",
    "Londno",
    "Chicagoo",
    "Bostonn",
    "Middle-earth",
    "Emerald City",
    "Timbuktoo",
    "Brigadoon",
    "Shangri-La",
    "Xanadu",
    "Camelot",
    "Mudville",
    "Dawson's Landing",
    "Bricksville",
    "Pokeville",
    "Hadleyburg",
]
API_FAILURES = [
    {"error": "service unavailable", "message": "The weather service is temporarily unavailable."},
    {"error": "timeout", "message": "The request to the weather provider timed out."},
    {"error": "rate limited", "message": "Too many requests; try again in a minute."},
    {"error": "internal error", "message": "Unexpected error from the forecast backend."},
]

# Questions with the tool on offer that must not call it: general knowledge, including
# weather science (about weather, not a forecast for a place and day), and chit-chat.
IRRELEVANT = [
    (
        "Why is the sky blue?",
        {
            "twain": "Sunlight gets knocked about by the air, and the blue part gets knocked about most, so it comes at you from every direction. That is the science; the poetry is extra.",
            "franklin": "The air scatters the blue of sunlight more than the red, so blue reaches the eye from all quarters of the sky.",
            "neutral": "Air molecules scatter short (blue) wavelengths of sunlight much more than long ones, so scattered blue light reaches you from every direction.",
        },
    ),
    (
        "What causes thunder?",
        {
            "twain": "Lightning heats the air so fast it bursts outward, and the bang is the air complaining about it.",
            "franklin": "Lightning heats the air in an instant; the air expands violently and we hear the report. I have some acquaintance with the subject.",
            "neutral": "Lightning heats the air along its path extremely quickly; the rapid expansion creates a shock wave we hear as thunder.",
        },
    ),
    (
        "How do clouds form?",
        {
            "twain": "Warm damp air climbs, cools off, and its water gives up and gathers into droplets. A cloud is a crowd of them loitering.",
            "franklin": "Moist air rises and cools; its vapour condenses on fine dust into droplets, and the droplets together make a cloud.",
            "neutral": "Rising air cools, and its water vapor condenses on tiny particles into droplets; billions of droplets form a cloud.",
        },
    ),
    (
        "Can you recommend a good book?",
        {
            "twain": "Read a book you can finish. The Adventures of Huckleberry Finn is long enough to be worth it and short enough to be believed.",
            "franklin": "Read something that improves you and something that amuses you, and count yourself rich if one book does both.",
            "neutral": "Try a classic like The Adventures of Huckleberry Finn, or tell me what you enjoy and I can suggest something closer.",
        },
    ),
    (
        "What's a good way to save money?",
        {
            "twain": "Spend less than you earn and do not tell your relatives what you earn.",
            "franklin": "Beware of little expenses; a small leak will sink a great ship. A penny saved is a penny earned.",
            "neutral": "Track your spending, set up an automatic transfer to savings each payday, and cut recurring costs you don't use.",
        },
    ),
    (
        "Give me some advice about getting up early.",
        {
            "twain": "Get up early if you must, but do not make a habit of being smug about it.",
            "franklin": "Early to bed and early to rise makes a man healthy, wealthy and wise.",
            "neutral": "Go to bed at a consistent time, put your alarm across the room, and get some daylight soon after waking.",
        },
    ),
    (
        "Translate 'good morning' into French.",
        {
            "twain": "Bonjour. I learned it in Paris, where they say it to everybody, including people they intend to overcharge.",
            "franklin": "Bonjour. I used it often in Paris, and it served me well.",
            "neutral": 'Good morning in French is "bonjour".',
        },
    ),
    (
        "What is the capital of Australia?",
        {
            "twain": "Canberra, which surprises everybody who thought it was Sydney, including some people in Sydney.",
            "franklin": "Canberra.",
            "neutral": "The capital of Australia is Canberra.",
        },
    ),
    (
        "Write me a one-line poem about the river.",
        {
            "twain": "The river keeps its own counsel and takes everybody's sandbars with it.",
            "franklin": "The river gives freely and keeps no account; would that men did the same.",
            "neutral": "The river runs on, patient and wide, carrying the morning down to the sea.",
        },
    ),
    (
        "What's the difference between weather and climate?",
        {
            "twain": "Climate is what you expect, weather is what you get.",
            "franklin": "Weather is the humour of a day; climate is the temper of a country over many years.",
            "neutral": "Weather is the short-term state of the atmosphere; climate is the average pattern over decades.",
        },
    ),
    (
        "How do I make a cup of tea?",
        {
            "twain": "Boil the water, pour it on the leaves, wait, and do not let anybody tell you there is more to it.",
            "franklin": "Boil fresh water, pour it on the leaves, steep three or four minutes, and waste none.",
            "neutral": "Boil water, pour it over a tea bag or leaves, steep for three to five minutes, then remove the tea.",
        },
    ),
    (
        "Tell me about yourself.",
        {
            "twain": "I am an assistant with opinions and the good sense to keep most of them short.",
            "franklin": "I am a plain assistant, useful where I can be and brief where I cannot.",
            "neutral": "I'm an assistant that can chat, answer questions and look up the weather for you.",
        },
    ),
    (
        "What's 17 times 3?",
        {
            "twain": "Fifty-one, and I did it without a calculating machine.",
            "franklin": "Fifty-one.",
            "neutral": "17 times 3 is 51.",
        },
    ),
    (
        "Why do we have seasons?",
        {
            "twain": "The earth leans, and which end it leans toward the sun decides whether you shovel snow or sweat.",
            "franklin": "The earth's axis is inclined, so each hemisphere in turn receives the sun more directly; that makes summer, and the reverse winter.",
            "neutral": "Earth's axis is tilted, so over the year each hemisphere alternately gets more direct sunlight (summer) and less (winter).",
        },
    ),
]
JOKE_REQUESTS = [
    "Tell me a joke.",
    "Make me laugh.",
    "Got a funny headline for me?",
    "Say something funny.",
    "I need a laugh today.",
]
MAXIM_REQUESTS = [
    "Give me a bit of wisdom.",
    "Any words of advice?",
    "Tell me a proverb.",
    "Share a maxim with me.",
]
FOLLOW_NEXT_DAY = ["And the day after?", "What about the next day?", "How about the following day?"]
FOLLOW_OTHER_CITY = ["And in {loc}?", "How about {loc} the same day?", "What about {loc}?"]


@dataclass
class Episode:
    """An episode under construction: messages and the facts the final answers rest on."""

    messages: list[dict]
    tools: list[dict]
    case: str
    persona: str
    provenance: list[str] = field(default_factory=list)
    call_count: int = 0


class EpisodeBuilder:
    def __init__(
        self,
        service: WeatherService,
        params: EpisodeParams,
        jokes: Sequence[tuple[str, str]] = (),
        maxims: Sequence[tuple[str, str]] = (),
    ):
        self.service = service
        self.params = params
        self.jokes = list(jokes)
        self.maxims = list(maxims)
        # Cities the user can name unambiguously (a few share name, region and country).
        big = [
            c
            for c in service.cities
            if c.population >= params.min_city_population and self.mention_forms(c)
        ]
        if not big:
            raise ValueError("no city reaches min_city_population")
        self.cities = sorted(big, key=lambda c: (c.country, c.admin, c.name))
        # Made-up and misspelled places; a real city list may know some (El Dorado, Arkansas).
        self.unknown_places = [p for p in UNKNOWN_PLACES if service.resolve(p) is None]
        first = dt.date.fromisoformat(params.first_reference_date)
        last = dt.date.fromisoformat(params.last_reference_date)
        self.reference_days = (last - first).days
        self.first_day = first

    # -- pieces --
    def mention_forms(self, city: City) -> list[str]:
        """The ways to name `city` that the service resolves back to it, shortest first."""
        forms = [city.name, f"{city.name}, {city.country}"]
        if city.admin:
            forms += [f"{city.name}, {city.admin}", f"{city.name}, {city.admin}, {city.country}"]
        return [f for f in forms if self.service.resolve(f) == city]

    def mention(self, rng: random.Random, city: City) -> str:
        """How a user names the city: often bare, sometimes qualified, now and then lower-case."""
        forms = self.mention_forms(city)
        form = forms[0] if rng.random() < 0.5 else rng.choice(forms)
        return form.lower() if rng.random() < 0.1 else form

    def pick_city(self, rng: random.Random) -> City:
        return self.cities[rng.randrange(len(self.cities))]

    def system_prompt(self, rng: random.Random, persona: str, today: dt.date, domain: str) -> str:
        tokens = personas.control_tokens(persona, PERSONA_TONE[persona], domain)
        parts = [
            tokens,
            personas.pick(rng, personas.PERSONA_PROMPTS[persona]),
            personas.pick(rng, personas.TOOL_HINTS),
            rng.choice(
                [
                    f"Today is {human_date(today)}, {today.year}.",
                    f"Today's date is {today.isoformat()}.",
                    f"The current date is {today.isoformat()} ({WEEKDAYS[today.weekday()]}).",
                ]
            ),
        ]
        return " ".join(p for p in parts if p)

    def tools_for(self, rng: random.Random) -> tuple[ToolVariant, list[dict]]:
        variant = SEED_VARIANT if rng.random() < self.params.seed_schema_share else varied_tool(rng)
        tools = [variant.tool]
        if rng.random() < self.params.distractor_share:
            extra = rng.sample(DISTRACTORS, rng.randint(1, 2))
            tools += [{"type": "function", "function": d} for d in extra]
            rng.shuffle(tools)
        return variant, tools

    def call(
        self,
        episode: Episode,
        variant: ToolVariant,
        location: str,
        day: dt.date,
        fahrenheit: bool,
        result: dict | None = None,
    ) -> dict:
        """Append the assistant's tool call and the tool's answer; return the result."""
        args = {variant.location_key: location, variant.date_key: day.isoformat()}
        if variant.unit_key and fahrenheit:
            args[variant.unit_key] = "fahrenheit"
        episode.call_count += 1
        call_id = f"call_{episode.call_count}"
        episode.messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": variant.name,
                            "arguments": json.dumps(args, ensure_ascii=False),
                        },
                    }
                ],
            }
        )
        if result is None:
            result = self.service.get_weather(location, day.isoformat())
        episode.messages.append(
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": json.dumps(result, ensure_ascii=False),
            }
        )
        return result

    def answer(
        self, rng: random.Random, persona: str, result: dict, when: str, fahrenheit: bool
    ) -> str:
        place = result["location"].split(",")[0]
        cond = result["condition"].lower()
        if fahrenheit:
            temp = f"{result['temperature_f']}°F ({result['temperature_c']}°C)"
        else:
            temp = rng.choice(
                [
                    f"{result['temperature_c']}°C",
                    f"{result['temperature_c']}°C ({result['temperature_f']}°F)",
                ]
            )
        precip = result["precipitation_mm"]
        precip_clause = f", {precip} mm of precipitation" if precip else ""
        quip = personas.pick(
            rng, personas.QUIPS[persona][personas.condition_class(result["wmo_code"])]
        )
        frame = personas.pick(rng, personas.ANSWER_FRAMES[persona])
        text = frame.format(
            place=place,
            when=when,
            When_cap=when[:1].upper() + when[1:],
            cond=cond,
            temp=temp,
            wind=result["wind_kph"],
            precip_clause=precip_clause,
            humidity=result["humidity_pct"],
            quip=quip,
        )
        return " ".join(text.split())

    # -- cases --
    def build(self, index: int, case: str, rng: random.Random) -> Episode:
        persona = rng.choices(
            list(self.params.persona_shares), weights=list(self.params.persona_shares.values())
        )[0]
        today = self.first_day + dt.timedelta(days=rng.randint(0, self.reference_days))
        variant, tools = self.tools_for(rng)
        domain = "general" if case == "irrelevant" else "weather"
        episode = Episode(
            [{"role": "system", "content": self.system_prompt(rng, persona, today, domain)}],
            tools,
            case,
            persona,
        )
        getattr(self, f"_{case}")(episode, rng, variant, today)
        return episode

    def _request(self, rng, loc, when, fahrenheit):
        text = rng.choice(REQUESTS).format(loc=loc, when=when)
        return text + (rng.choice(FAHRENHEIT_SUFFIXES) if fahrenheit else "")

    def _success(self, episode, rng, variant, today, relative=False):
        city = self.pick_city(rng)
        loc = self.mention(rng, city)
        if relative:
            phrase, day, when = relative_date(rng, today)
        else:
            day = today + dt.timedelta(days=rng.randint(0, 9))
            phrase = explicit_date_phrase(rng, day)
            when = f"on {human_date(day)}"
        fahrenheit = rng.random() < 0.2
        episode.messages.append(
            {"role": "user", "content": self._request(rng, loc, phrase, fahrenheit)}
        )
        result = self.call(episode, variant, loc, day, fahrenheit)
        episode.messages.append(
            {
                "role": "assistant",
                "content": self.answer(rng, episode.persona, result, when, fahrenheit),
            }
        )
        return city, day, when, fahrenheit

    def _relative_date(self, episode, rng, variant, today):
        self._success(episode, rng, variant, today, relative=True)

    def _absent_date(self, episode, rng, variant, today):
        city = self.pick_city(rng)
        loc = self.mention(rng, city)
        episode.messages.append(
            {"role": "user", "content": rng.choice(NO_DATE_REQUESTS).format(loc=loc)}
        )
        episode.messages.append(
            {"role": "assistant", "content": personas.pick(rng, personas.ASK_DATE[episode.persona])}
        )
        phrase, day, when = relative_date(rng, today)
        episode.messages.append({"role": "user", "content": phrase[:1].upper() + phrase[1:] + "."})
        result = self.call(episode, variant, loc, day, False)
        episode.messages.append(
            {"role": "assistant", "content": self.answer(rng, episode.persona, result, when, False)}
        )

    def _missing_location(self, episode, rng, variant, today):
        phrase, day, when = relative_date(rng, today)
        episode.messages.append(
            {"role": "user", "content": rng.choice(NO_PLACE_REQUESTS).format(when=phrase)}
        )
        episode.messages.append(
            {
                "role": "assistant",
                "content": personas.pick(rng, personas.ASK_LOCATION[episode.persona]),
            }
        )
        if rng.random() < 0.5:  # half the episodes go on: the user names the place
            loc = self.mention(rng, self.pick_city(rng))
            episode.messages.append(
                {"role": "user", "content": rng.choice([loc, f"{loc}.", f"In {loc}."])}
            )
            result = self.call(episode, variant, loc, day, False)
            episode.messages.append(
                {
                    "role": "assistant",
                    "content": self.answer(rng, episode.persona, result, when, False),
                }
            )

    def _api_error(self, episode, rng, variant, today):
        loc = self.mention(rng, self.pick_city(rng))
        phrase, day, _ = relative_date(rng, today)
        episode.messages.append({"role": "user", "content": self._request(rng, loc, phrase, False)})
        self.call(episode, variant, loc, day, False, result=dict(rng.choice(API_FAILURES)))
        episode.messages.append(
            {
                "role": "assistant",
                "content": personas.pick(rng, personas.API_ERROR[episode.persona]),
            }
        )

    def _unknown_location(self, episode, rng, variant, today):
        loc = rng.choice(self.unknown_places)
        phrase, day, _ = relative_date(rng, today)
        episode.messages.append({"role": "user", "content": self._request(rng, loc, phrase, False)})
        result = self.call(episode, variant, loc, day, False)
        assert result.get("error") == "unknown location", (loc, result)
        episode.messages.append(
            {
                "role": "assistant",
                "content": personas.pick(rng, personas.UNKNOWN_PLACE[episode.persona]).format(
                    loc=loc
                ),
            }
        )

    def _irrelevant(self, episode, rng, variant, today):
        kind = rng.random()
        if kind < 0.3 and self.jokes:
            rid, joke = self.jokes[rng.randrange(len(self.jokes))]
            episode.messages.append({"role": "user", "content": rng.choice(JOKE_REQUESTS)})
            lead = {
                "twain": "Here is one from the newspapers, which is where the best fiction is:",
                "franklin": "From the gazettes:",
                "neutral": "Here's a satirical headline:",
            }[episode.persona]
            episode.messages.append({"role": "assistant", "content": f'{lead} "{joke}"'})
            episode.provenance.append(rid)
        elif kind < 0.45 and self.maxims:
            rid, maxim = self.maxims[rng.randrange(len(self.maxims))]
            episode.messages.append({"role": "user", "content": rng.choice(MAXIM_REQUESTS)})
            episode.messages.append({"role": "assistant", "content": maxim})
            episode.provenance.append(rid)
        else:
            question, answers = IRRELEVANT[rng.randrange(len(IRRELEVANT))]
            episode.messages.append({"role": "user", "content": question})
            episode.messages.append({"role": "assistant", "content": answers[episode.persona]})

    def _follow_up(self, episode, rng, variant, today):
        city, day, when, fahrenheit = self._success(episode, rng, variant, today)
        if rng.random() < 0.5:
            day2, when2 = day + dt.timedelta(days=1), f"on {human_date(day + dt.timedelta(days=1))}"
            episode.messages.append({"role": "user", "content": rng.choice(FOLLOW_NEXT_DAY)})
            loc = self.mention(rng, city)
        else:
            other = self.pick_city(rng)
            loc = self.mention(rng, other)
            day2, when2 = day, when
            episode.messages.append(
                {"role": "user", "content": rng.choice(FOLLOW_OTHER_CITY).format(loc=loc)}
            )
        result = self.call(episode, variant, loc, day2, fahrenheit)
        episode.messages.append(
            {
                "role": "assistant",
                "content": self.answer(rng, episode.persona, result, when2, fahrenheit),
            }
        )


def case_plan(params: EpisodeParams) -> list[str]:
    """Exactly round(share * n) episodes per case (remainder to the largest), shuffled."""
    counts = allot(params.n_episodes, params.case_shares)
    plan = [c for c in sorted(counts) for _ in range(counts[c])]
    random.Random(params.seed).shuffle(plan)
    return plan


def to_record(index: int, episode: Episode) -> dict:
    return {
        "id": f"tool:{index:05d}",
        "messages": episode.messages,
        "tools": episode.tools,
        "tags": {
            "persona": episode.persona,
            "tone": PERSONA_TONE[episode.persona],
            "domain": "general" if episode.case == "irrelevant" else "weather",
            "source": "synthetic",
            "template": TEMPLATE_OF_CASE[episode.case],
            "synthetic": True,
            "case": episode.case,
        },
        "provenance": episode.provenance,
    }
