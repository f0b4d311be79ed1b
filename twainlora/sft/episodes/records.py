"""Episodes as SFT records: built one per planned case, validated, counted.

Also the material unrelated requests are answered with: satire headlines as jokes and Poor
Richard's sayings as "a bit of wisdom".
"""

from __future__ import annotations

import random
from collections import Counter

from twainlora.core.sft import grounding_errors, record_errors
from twainlora.domain import personas
from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.sft.episodes.builder import Episode, EpisodeBuilder
from twainlora.sft.episodes.cases import TEMPLATE_OF_CASE, EpisodeParams, case_plan
from twainlora.sft.maxims import poor_richard_sayings


def jokes_and_maxims(
    records, max_jokes: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(id, text) of up to max_jokes satire headlines, in a seeded order, and of every Poor
    Richard saying in an aphoristic record, as the answers to "tell me a joke" and "a bit of
    wisdom"."""
    jokes, maxims = [], []
    for r in records:
        if r["tags"]["tone"] == "satirical" and r["tags"]["device"] == "headline":
            jokes.append((r["id"], r["text"]))
        if r["tags"]["tone"] == "aphoristic":
            maxims += [
                (r["id"], f'"{saying}," as Poor Richard says.')
                for saying in poor_richard_sayings(r["text"])
            ]
    random.Random(seed).shuffle(jokes)
    return jokes[:max_jokes], sorted(set(maxims))


def to_record(index: int, episode: Episode) -> dict:
    return {
        "id": f"tool:{index:05d}",
        "messages": episode.messages,
        "tools": episode.tools,
        "tags": {
            "persona": episode.persona,
            "tone": personas.PERSONA_TONE[episode.persona],
            "domain": "general" if episode.case == "irrelevant" else "weather",
            "source": "synthetic",
            "template": TEMPLATE_OF_CASE[episode.case],
            "synthetic": True,
            "case": episode.case,
        },
        "provenance": episode.provenance,
    }


def build_records(builder: EpisodeBuilder, params: EpisodeParams) -> tuple[list[dict], list[dict]]:
    """(records, rejects): every episode of the plan; one failing validation is a reject."""
    from tqdm import tqdm

    records, rejects = [], []
    for i, case in enumerate(tqdm(case_plan(params), desc="tool_episodes", unit="ep")):
        # One generator per episode, seeded by (seed, index): an episode does not change when
        # the count or the shares of the others do.
        record = to_record(i, builder.build(i, case, random.Random(f"{params.seed}:{i}")))
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
    return records, rejects


def episode_metrics(records: list[dict], rejects: list[dict], jokes: list, maxims: list) -> dict:
    """Counts and shares per case, template and persona; schema and distractor counts."""
    cases = Counter(r["tags"]["case"] for r in records)
    return {
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
