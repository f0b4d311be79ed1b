"""The episode builder: one method per case, each appending the turns of its conversation.

Every draw comes from the episode's own generator, in the order the methods make them, so
changing the order of two calls changes the data.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from twainlora.domain import personas
from twainlora.domain.weather import City, WeatherService, WeatherWorld
from twainlora.sft.episodes.cases import SESSION_FIRST, SESSION_LATER, EpisodeParams
from twainlora.sft.episodes.dates import (
    WEEKDAYS,
    date_sentence,
    explicit_date_phrase,
    human_date,
    relative_date,
)
from twainlora.sft.episodes.phrases import (
    API_FAILURES,
    FAHRENHEIT_SUFFIXES,
    FOLLOW_NEXT_DAY,
    FOLLOW_OTHER_CITY,
    IRRELEVANT,
    JOKE_REQUESTS,
    MAXIM_REQUESTS,
    NO_DATE_REQUESTS,
    NO_PLACE_REQUESTS,
    REQUESTS,
    UNKNOWN_PLACES,
)
from twainlora.sft.episodes.tools import ToolOffer, ToolVariant, offered_tools
from twainlora.sft.episodes.unrelated import KINDS as UNRELATED_KINDS
from twainlora.sft.episodes.unrelated import unrelated_turn


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
    """Episodes over the service's cities: `build` draws the frame (`start`), then the case's
    method adds the turns, every draw from the one generator it is given."""

    def __init__(
        self,
        service: WeatherService,
        params: EpisodeParams,
        world: WeatherWorld,
        offer: ToolOffer,
        jokes: Sequence[tuple[str, str]] = (),
        maxims: Sequence[tuple[str, str]] = (),
    ):
        self.service = service
        self.params = params
        self.offer = offer
        self.jokes = list(jokes)
        self.maxims = list(maxims)
        # Cities the user can name unambiguously (a few share name, region and country).
        big = [
            c
            for c in service.cities
            if c.population >= world.min_city_population and self.mention_forms(c)
        ]
        if not big:
            raise ValueError("no city reaches min_city_population")
        self.cities = sorted(big, key=lambda c: (c.country, c.admin, c.name))
        # Made-up and misspelled places; a real city list may know some (El Dorado, Arkansas).
        self.unknown_places = [p for p in UNKNOWN_PLACES if service.resolve(p) is None]
        self.first_day, self.reference_days = world.reference_days()

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

    def system_prompt(self, rng: random.Random, persona: str, today: dt.date) -> str:
        """The persona's prompt, a tool hint and today's date; with the control tokens unless
        drawn plain (plain_system_share), as a user's own system prompt is. The domain token
        is WEATHER whatever the user goes on to ask: it must not tell the model the answer."""
        prompt = personas.pick(rng, personas.PERSONA_PROMPTS[persona])
        if rng.random() >= self.params.plain_system_share:
            tone = personas.PERSONA_TONE[persona]
            prompt = f"{personas.control_tokens(persona, tone, 'weather')} {prompt}"
        parts = [
            prompt,
            personas.pick(rng, personas.TOOL_HINTS),
            date_sentence(rng, today),
        ]
        return " ".join(p for p in parts if p)

    @staticmethod
    def relative_day(
        rng: random.Random, episode: Episode, today: dt.date
    ) -> tuple[str, dt.date, str]:
        """A relative date (dates.relative_date) that the episode's system prompt resolves: "on
        Friday" only where it says which weekday today is."""
        named = WEEKDAYS[today.weekday()] in episode.messages[0]["content"]
        return relative_date(rng, today, weekdays=named)

    def tools_for(self, rng: random.Random) -> tuple[ToolVariant, list[dict]]:
        return offered_tools(rng, self.offer)

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

    def start(self, rng: random.Random, case: str) -> tuple[Episode, ToolVariant, dt.date]:
        """An episode of `case` with its persona, "today", tools and system prompt drawn; the
        turns are the caller's."""
        persona = rng.choices(
            list(self.params.persona_shares), weights=list(self.params.persona_shares.values())
        )[0]
        today = self.first_day + dt.timedelta(days=rng.randint(0, self.reference_days))
        variant, tools = self.tools_for(rng)
        episode = Episode(
            [{"role": "system", "content": self.system_prompt(rng, persona, today)}],
            tools,
            case,
            persona,
        )
        return episode, variant, today

    def request(self, rng: random.Random, loc: str, when: str, fahrenheit: bool) -> str:
        """A user asking for the weather at `loc` `when` ("tomorrow", "on May 3"), in Fahrenheit
        if asked."""
        text = rng.choice(REQUESTS).format(loc=loc, when=when)
        return text + (rng.choice(FAHRENHEIT_SUFFIXES) if fahrenheit else "")

    def build(self, index: int, case: str, rng: random.Random) -> Episode:
        episode, variant, today = self.start(rng, case)
        self.CASE_METHODS[case](self, episode, rng, variant, today)
        return episode

    # One method per case; each appends the user, assistant and tool turns after the system prompt.
    def _success(self, episode, rng, variant, today, relative=False):
        city = self.pick_city(rng)
        loc = self.mention(rng, city)
        if relative:
            phrase, day, when = self.relative_day(rng, episode, today)
        else:
            day = today + dt.timedelta(days=rng.randint(0, 9))
            phrase = explicit_date_phrase(rng, day)
            when = f"on {human_date(day)}"
        fahrenheit = rng.random() < 0.2
        episode.messages.append(
            {"role": "user", "content": self.request(rng, loc, phrase, fahrenheit)}
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
        phrase, day, when = self.relative_day(rng, episode, today)
        episode.messages.append({"role": "user", "content": phrase[:1].upper() + phrase[1:] + "."})
        result = self.call(episode, variant, loc, day, False)
        episode.messages.append(
            {"role": "assistant", "content": self.answer(rng, episode.persona, result, when, False)}
        )

    def _missing_location(self, episode, rng, variant, today):
        phrase, day, when = self.relative_day(rng, episode, today)
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
        phrase, day, _ = self.relative_day(rng, episode, today)
        episode.messages.append({"role": "user", "content": self.request(rng, loc, phrase, False)})
        self.call(episode, variant, loc, day, False, result=dict(rng.choice(API_FAILURES)))
        episode.messages.append(
            {
                "role": "assistant",
                "content": personas.pick(rng, personas.API_ERROR[episode.persona]),
            }
        )

    def _unknown_location(self, episode, rng, variant, today):
        loc = rng.choice(self.unknown_places)
        phrase, day, _ = self.relative_day(rng, episode, today)
        episode.messages.append({"role": "user", "content": self.request(rng, loc, phrase, False)})
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
        if kind < 0.15 and self.jokes:
            rid, joke = self.jokes[rng.randrange(len(self.jokes))]
            episode.messages.append({"role": "user", "content": rng.choice(JOKE_REQUESTS)})
            lead = personas.JOKE_LEAD[episode.persona]
            episode.messages.append({"role": "assistant", "content": f'{lead} "{joke}"'})
            episode.provenance.append(rid)
        elif kind < 0.25 and self.maxims:
            rid, maxim = self.maxims[rng.randrange(len(self.maxims))]
            episode.messages.append({"role": "user", "content": rng.choice(MAXIM_REQUESTS)})
            episode.messages.append({"role": "assistant", "content": maxim})
            episode.provenance.append(rid)
        elif kind < 0.4:
            question, answers = IRRELEVANT[rng.randrange(len(IRRELEVANT))]
            episode.messages.append({"role": "user", "content": question})
            episode.messages.append({"role": "assistant", "content": answers[episode.persona]})
        else:  # worked out from the world; most name a place, a date or a temperature
            city = self.pick_city(rng)
            request, answer = unrelated_turn(
                rng,
                rng.choice(UNRELATED_KINDS),
                episode.persona,
                today,
                city,
                self.mention(rng, city),
            )
            episode.messages.append({"role": "user", "content": request})
            episode.messages.append({"role": "assistant", "content": answer})

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

    def _session(self, episode, rng, variant, today):
        """Several requests under one system prompt and tool list, as a chat goes on: each
        request is a decision (call, ask, or just answer) and the long prompt is paid once,
        so a session teaches ~3 decisions for the tokens of ~1.7 single episodes. Requests
        are drawn by the single cases' shares."""
        for i in range(rng.randint(2, self.params.max_session_requests)):
            cases = SESSION_FIRST if i == 0 else SESSION_LATER
            weights = [self.params.case_shares.get(c, 0.0) for c in cases]
            case = rng.choices(cases, weights=weights if any(weights) else None)[0]
            self.CASE_METHODS[case](self, episode, rng, variant, today)

    # What `build` runs for each case (cases.CASES; a test checks that both agree).
    CASE_METHODS = {
        "success": _success,
        "relative_date": _relative_date,
        "absent_date": _absent_date,
        "missing_location": _missing_location,
        "api_error": _api_error,
        "unknown_location": _unknown_location,
        "irrelevant": _irrelevant,
        "follow_up": _follow_up,
        "session": _session,
    }
