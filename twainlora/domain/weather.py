"""The `get_weather` tool: its schema (DESIGN.md, the seed's exactly) and an offline,
deterministic weather service over a world-cities list.

The service is a stand-in for a forecast API that gives plausible, repeatable answers: the
temperature follows latitude and season (hemisphere-aware), the day's variation and the
condition come from a generator seeded by a hash of the city and the date, so the same
question always gets the same answer, on any machine. Errors come back as JSON objects with
an "error" key, as a real API's would, never as exceptions.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

GET_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a location on a given date.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "City name, optionally with region or country, e.g. 'Paris, France'",
                },
                "date": {"type": "string", "description": "Date in ISO 8601 format (YYYY-MM-DD)"},
            },
            "required": ["location", "date"],
        },
    },
}

# Open-Meteo's WMO weather codes and day descriptions (the mirror's weather/vyong1_fast_weather
# table, the widely copied mapping); the service only emits codes from this table.
WMO_DESCRIPTIONS = {
    0: "Sunny",
    1: "Mainly Sunny",
    2: "Partly Cloudy",
    3: "Cloudy",
    45: "Foggy",
    48: "Rime Fog",
    51: "Light Drizzle",
    53: "Drizzle",
    55: "Heavy Drizzle",
    56: "Light Freezing Drizzle",
    57: "Freezing Drizzle",
    61: "Light Rain",
    63: "Rain",
    65: "Heavy Rain",
    66: "Light Freezing Rain",
    67: "Freezing Rain",
    71: "Light Snow",
    73: "Snow",
    75: "Heavy Snow",
    77: "Snow Grains",
    80: "Light Showers",
    81: "Showers",
    82: "Heavy Showers",
    85: "Light Snow Showers",
    86: "Snow Showers",
    95: "Thunderstorm",
    96: "Light Thunderstorms With Hail",
    99: "Thunderstorm With Hail",
}


@dataclass(frozen=True)
class WeatherWorld:
    """params.yaml `weather_world`: the world every tool conversation lives in (the tool
    episodes, synth's bad-tool-output episodes, the held-out evaluation, `twainlora serve`)."""

    cities: str  # SimpleMaps worldcities.csv, relative to the repository
    min_city_population: int  # places a user asks about
    first_reference_date: str  # "today" is drawn from this range (ISO dates)
    last_reference_date: str

    def reference_days(self) -> tuple[dt.date, int]:
        """The first reference date and the number of days after it that "today" may be."""
        first = dt.date.fromisoformat(self.first_reference_date)
        return first, (dt.date.fromisoformat(self.last_reference_date) - first).days


@dataclass(frozen=True)
class City:
    name: str
    ascii: str
    admin: str
    country: str
    iso2: str
    lat: float
    lng: float
    population: int

    @property
    def label(self) -> str:
        parts = [self.name] + ([self.admin] if self.admin and self.admin != self.name else [])
        return ", ".join(parts + [self.country])


def fold(text: str) -> str:
    """Lower-case, accents removed, single spaces: 'Île-de-France' -> 'ile-de-france'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def load_cities(path: str | Path) -> list[City]:
    """SimpleMaps worldcities.csv (city, city_ascii, lat, lng, country, iso2, admin_name,
    population); a row without population counts as 0."""
    cities = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                cities.append(
                    City(
                        name=row["city"],
                        ascii=row["city_ascii"],
                        admin=row["admin_name"],
                        country=row["country"],
                        iso2=row["iso2"],
                        lat=float(row["lat"]),
                        lng=float(row["lng"]),
                        population=int(float(row["population"] or 0)),
                    )
                )
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}:{lineno}: bad city row ({e})") from e
    return cities


_ABBREVIATIONS = {"st.": "saint", "st": "saint", "ste.": "sainte", "ft.": "fort", "mt.": "mount"}


def _expand(name: str) -> str:
    words = name.split()
    return " ".join([_ABBREVIATIONS.get(words[0], words[0]), *words[1:]]) if words else name


def _seeded(*parts: str) -> random.Random:
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class WeatherService:
    """Answers get_weather(location, date) from a city list, offline and deterministically."""

    def __init__(self, cities: list[City]):
        if not cities:
            raise ValueError("the weather service needs at least one city")
        self.cities = cities
        self._by_name: dict[str, list[City]] = {}
        for city in cities:
            for key in {fold(city.name), fold(city.ascii)}:
                self._by_name.setdefault(key, []).append(city)
        for matches in self._by_name.values():
            matches.sort(key=lambda c: (-c.population, c.country, c.admin))

    @classmethod
    def from_csv(cls, path: str | Path) -> WeatherService:
        return cls(load_cities(path))

    def resolve(self, location: str) -> City | None:
        """'Paris' -> the most populous Paris; 'Paris, Texas' or 'Paris, US' -> that one;
        'St. Louis' finds 'Saint Louis'."""
        parts = [fold(p) for p in location.split(",") if p.strip()]
        if not parts:
            return None
        name = parts[0]
        candidates = self._by_name.get(name) or self._by_name.get(_expand(name), [])
        for qualifier in parts[1:]:
            candidates = [
                c
                for c in candidates
                if qualifier in (fold(c.admin), fold(c.country), c.iso2.lower())
            ]
        return candidates[0] if candidates else None

    def weather(self, city: City, date: dt.date) -> dict:
        rng = _seeded(city.ascii, city.iso2, city.admin, date.isoformat())
        alat = abs(city.lat)
        # Annual mean falls with latitude; the seasonal swing grows with it. The warmest day is
        # mid-July in the north and mid-January in the south.
        annual_mean = 28.0 - 0.45 * max(0.0, alat - 12.0)
        swing = min(22.0, 0.38 * alat)
        warmest_day = 200 if city.lat >= 0 else 17
        season = math.cos(2 * math.pi * (date.timetuple().tm_yday - warmest_day) / 365.25)
        temp_c = round(annual_mean + swing * season + rng.gauss(0.0, 3.0))
        code = self._condition(rng, temp_c, alat)
        wet = code >= 51
        precipitation = round(rng.uniform(0.5, 4.0) * (1 + (code % 10) / 3), 1) if wet else 0.0
        return {
            "location": city.label,
            "date": date.isoformat(),
            "temperature_c": temp_c,
            "temperature_f": round(temp_c * 9 / 5 + 32),
            "condition": WMO_DESCRIPTIONS[code],
            "wmo_code": code,
            "precipitation_mm": precipitation,
            "wind_kph": round(abs(rng.gauss(12.0, 7.0))),
            "humidity_pct": int(rng.uniform(70, 98)) if wet else int(rng.uniform(25, 80)),
        }

    @staticmethod
    def _condition(rng: random.Random, temp_c: int, alat: float) -> int:
        wet_chance = 0.45 if alat < 23.5 else 0.33
        if rng.random() >= wet_chance:
            if temp_c < 12 and rng.random() < 0.12:
                return rng.choice([45, 48] if temp_c < 0 else [45])
            return rng.choice([0, 0, 1, 1, 2, 2, 3])
        if temp_c <= -1:
            return rng.choice([71, 73, 75, 77, 85, 86])
        if temp_c <= 2:
            return rng.choice([56, 57, 66, 67, 71, 77])
        if temp_c >= 20 and rng.random() < 0.3:
            return rng.choice([95, 95, 96, 99])
        return rng.choice([51, 53, 55, 61, 61, 63, 63, 65, 80, 81, 82])

    def get_weather(self, location: str, date: str) -> dict:
        """The tool's answer as a JSON-ready dict, an error object when it cannot answer."""
        try:
            day = dt.date.fromisoformat(date)
        except (TypeError, ValueError):
            return {
                "error": "invalid date",
                "date": date,
                "message": "date must be an ISO 8601 calendar date, YYYY-MM-DD",
            }
        city = self.resolve(location) if isinstance(location, str) else None
        if city is None:
            return {
                "error": "unknown location",
                "location": location,
                "message": f"no city matching {location!r} in the weather service's list",
            }
        return self.weather(city, day)

    def call(
        self, arguments: str | dict, location_key: str = "location", date_key: str = "date"
    ) -> dict:
        """Run a tool call whose arguments arrive as a JSON string (OpenAI's format) or a dict;
        the keys name the location and date parameters of the schema in use."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as e:
                return {"error": "invalid arguments", "message": f"arguments are not JSON: {e.msg}"}
        if not isinstance(arguments, dict):
            return {"error": "invalid arguments", "message": "arguments must be a JSON object"}
        missing = [k for k in (location_key, date_key) if k not in arguments]
        if missing:
            return {"error": "invalid arguments", "message": f"missing required {missing}"}
        return self.get_weather(arguments[location_key], arguments[date_key])


# Parameter names the varied tool schemas use for the place and the date (the seed's own
# names first); episodes build schemas from them and evaluation reads calls with them.
LOCATION_KEYS = ["location", "city", "place"]
DATE_KEYS = ["date", "day", "forecast_date"]
