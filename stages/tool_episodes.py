"""Tool-calling episodes for get_weather, validated before they are written.

    python stages/tool_episodes.py

Reads the world-cities list (tool_episodes.cities, in the corpora mirror) for the offline
weather service, and data/tagged/records.jsonl for the jokes (satire headlines) and maxims
(Poor Richard) that unrelated requests are answered with. Writes:
  data/sft/tool_episodes.jsonl       episodes in OpenAI chat format with their tools
  data/rejects/tool_episodes.jsonl   episodes that failed validation, with the errors
  metrics/tool_episodes.json         counts and shares per case, template, persona, schema
"""

from __future__ import annotations

import logging
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records
from twainlora.core.sft import grounding_errors, record_errors
from twainlora.domain.weather import GET_WEATHER_TOOL, WeatherService
from twainlora.sft.episodes import (
    EpisodeBuilder,
    EpisodeParams,
    case_plan,
    jokes_and_maxims,
    to_record,
)

log = logging.getLogger("tool_episodes")

TAGGED = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/tool_episodes.jsonl")
REJECTS = Path("data/rejects/tool_episodes.jsonl")
METRICS = Path("metrics/tool_episodes.json")


@dataclass(frozen=True)
class Params:
    cities: str  # SimpleMaps worldcities.csv, relative to the repository
    episodes: EpisodeParams
    max_jokes: int


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("tool_episodes", Params)
    service = WeatherService.from_csv(params.cities)
    jokes, maxims = jokes_and_maxims(
        read_records(TAGGED, require_tags=True), params.max_jokes, params.episodes.seed
    )
    builder = EpisodeBuilder(service, params.episodes, jokes=jokes, maxims=maxims)
    records, rejects = [], []
    for i, case in enumerate(tqdm(case_plan(params.episodes), desc="tool_episodes", unit="ep")):
        # One generator per episode, seeded by (seed, index): an episode does not change when
        # the count or the shares of the others do.
        record = to_record(i, builder.build(i, case, random.Random(f"{params.episodes.seed}:{i}")))
        errors = record_errors(record) or grounding_errors(record)
        if errors:
            rejects.append(
                {
                    "stage": "tool_episodes",
                    "id": record["id"],
                    "reason": "invalid",
                    "detail": errors,
                    "record": record,
                }
            )
        else:
            records.append(record)
    cases = Counter(r["tags"]["case"] for r in records)
    metrics = {
        "episodes": len(records),
        "rejected": len(rejects),
        "jokes": len(jokes),
        "maxims": len(maxims),
        "cases": {
            c: {"n": n, "share": round(n / len(records), 4)} for c, n in sorted(cases.items())
        },
        "templates": dict(sorted(Counter(r["tags"]["template"] for r in records).items())),
        "personas": dict(sorted(Counter(r["tags"]["persona"] for r in records).items())),
        "seed_schema": sum(
            r["tools"][0] == GET_WEATHER_TOOL or GET_WEATHER_TOOL in r["tools"] for r in records
        ),
        "with_distractors": sum(len(r["tools"]) > 1 for r in records),
        "tool_calls": sum(len(m.get("tool_calls") or []) for r in records for m in r["messages"]),
        "mean_messages": round(sum(len(r["messages"]) for r in records) / len(records), 2),
    }
    write_jsonl(OUT, records)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info("%d episodes written, %d rejected", len(records), len(rejects))
    return 0 if records and not rejects else 1


if __name__ == "__main__":
    sys.exit(main())
