"""Tool-calling episodes for get_weather, validated before they are written.

    python stages/tool_episodes.py

Reads the world-cities list (weather_world.cities, in the corpora mirror) for the offline
weather service, and data/tagged/records.jsonl for the jokes (satire headlines) and maxims
(Poor Richard) that unrelated requests are answered with. Writes:
  data/sft/tool_episodes.jsonl       episodes in OpenAI chat format with their tools
  data/rejects/tool_episodes.jsonl   episodes that failed validation, with the errors
  metrics/tool_episodes.json         counts and shares per case, template, persona, schema
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records
from twainlora.domain.weather import WeatherService, WeatherWorld
from twainlora.sft.episodes import (
    EpisodeBuilder,
    EpisodeParams,
    ToolOffer,
    build_records,
    episode_metrics,
    jokes_and_maxims,
)

log = logging.getLogger("tool_episodes")

TAGGED = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/tool_episodes.jsonl")
REJECTS = Path("data/rejects/tool_episodes.jsonl")
METRICS = Path("metrics/tool_episodes.json")


@dataclass(frozen=True)
class Params:
    episodes: EpisodeParams
    max_jokes: int


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("tool_episodes", Params)
    world = load_params("weather_world", WeatherWorld)
    offer = load_params("tool_offer", ToolOffer)
    service = WeatherService.from_csv(world.cities)
    jokes, maxims = jokes_and_maxims(
        read_records(TAGGED, require_tags=True), params.max_jokes, params.episodes.seed
    )
    builder = EpisodeBuilder(service, params.episodes, world, offer, jokes=jokes, maxims=maxims)
    records, rejects = build_records(builder, params.episodes)
    metrics = episode_metrics(records, rejects, jokes, maxims)
    write_jsonl(OUT, records)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info("%d episodes written, %d rejected", len(records), len(rejects))
    return 0 if records and not rejects else 1


if __name__ == "__main__":
    sys.exit(main())
