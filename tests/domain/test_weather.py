import datetime as dt
import json

import pytest

from twainlora.domain.weather import (
    GET_WEATHER_TOOL,
    WMO_DESCRIPTIONS,
    City,
    WeatherService,
    fold,
    load_cities,
)

from conftest import SHARED_CORPORA

CITIES = SHARED_CORPORA / "geo/taraskaduk_weather_simplemaps/worldcities.csv"


def city(name, admin, country, iso2, lat, pop, ascii=None):
    return City(name, ascii or fold(name), admin, country, iso2, lat, 0.0, pop)


@pytest.fixture(scope="module")
def small():
    return WeatherService(
        [
            city("Paris", "Île-de-France", "France", "FR", 48.87, 9_904_000),
            city("Paris", "Texas", "United States", "US", 33.67, 26_175),
            city("Saint Louis", "Missouri", "United States", "US", 38.64, 2_096_990),
            city("Sydney", "New South Wales", "Australia", "AU", -33.92, 4_630_000),
            city("Tromsø", "Troms", "Norway", "NO", 69.65, 64_000, ascii="Tromso"),
        ]
    )


def test_the_seed_schema_exactly():
    fn = GET_WEATHER_TOOL["function"]
    assert fn["name"] == "get_weather"
    assert fn["parameters"]["required"] == ["location", "date"]
    assert {k: v["type"] for k, v in fn["parameters"]["properties"].items()} == {
        "location": "string",
        "date": "string",
    }


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Paris", "Paris, Île-de-France, France"),
        ("paris, texas", "Paris, Texas, United States"),
        ("Paris, US", "Paris, Texas, United States"),
        ("St. Louis", "Saint Louis, Missouri, United States"),
        ("Tromso", "Tromsø, Troms, Norway"),
        ("  PARIS , France ", "Paris, Île-de-France, France"),
    ],
)
def test_resolve(small, location, expected):
    assert small.resolve(location).label == expected


def test_unknown_and_bad_input_are_json_errors(small):
    assert small.get_weather("Atlantis", "2026-07-04")["error"] == "unknown location"
    assert small.get_weather("Paris, Germany", "2026-07-04")["error"] == "unknown location"
    assert small.get_weather("Paris", "tomorrow")["error"] == "invalid date"
    assert small.get_weather("Paris", "2026-02-30")["error"] == "invalid date"
    assert small.call("{not json")["error"] == "invalid arguments"
    assert small.call({"location": "Paris"})["message"] == "missing required ['date']"
    assert small.call('{"city": "Paris", "day": "2026-07-04"}', "city", "day")[
        "location"
    ].startswith("Paris")


def test_answers_are_deterministic_and_plausible(small):
    a = small.get_weather("Paris", "2026-07-04")
    assert a == small.get_weather("paris", "2026-07-04")
    assert a != small.get_weather("Paris", "2026-07-05")
    assert set(a) == {
        "location",
        "date",
        "temperature_c",
        "temperature_f",
        "condition",
        "wmo_code",
        "precipitation_mm",
        "wind_kph",
        "humidity_pct",
    }
    assert a["temperature_f"] == round(a["temperature_c"] * 9 / 5 + 32)
    assert WMO_DESCRIPTIONS[a["wmo_code"]] == a["condition"]
    json.dumps(a)  # JSON-ready


def test_seasons_follow_the_hemisphere(small):
    def mean_temp(place, month):
        days = [dt.date(2026, month, d) for d in range(1, 29)]
        return sum(small.get_weather(place, d.isoformat())["temperature_c"] for d in days) / len(
            days
        )

    assert mean_temp("Paris", 7) > mean_temp("Paris", 1) + 10
    assert mean_temp("Sydney", 1) > mean_temp("Sydney", 7) + 5
    assert mean_temp("Tromso", 1) < 0 < mean_temp("Paris, Texas", 1)
    snowy = {
        small.get_weather("Tromso", dt.date(2026, 1, d).isoformat())["condition"]
        for d in range(1, 29)
    }
    assert not {"Rain", "Heavy Rain", "Thunderstorm"} & snowy


def test_load_cities_from_the_mirror():
    cities = load_cities(CITIES)
    assert len(cities) > 12000
    service = WeatherService(cities)
    assert service.resolve("Springfield, Illinois").population > 100_000


def test_bad_city_row_names_the_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "city,city_ascii,lat,lng,country,iso2,admin_name,population\nX,X,north,0,C,CC,A,1\n"
    )
    with pytest.raises(ValueError, match=r"c.csv:2: bad city row"):
        load_cities(path)
