"""The tools an episode offers: the seed's `get_weather` schema or a variant of it, sometimes
beside unrelated distractor tools."""

from __future__ import annotations

import random
from dataclasses import dataclass

from twainlora.domain.weather import DATE_KEYS, GET_WEATHER_TOOL, LOCATION_KEYS
from twainlora.sft.episodes.phrases import (
    DATE_DESCRIPTIONS,
    DISTRACTORS,
    LOCATION_DESCRIPTIONS,
    TOOL_DESCRIPTIONS,
    TOOL_NAMES,
    UNIT_KEYS,
)


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


@dataclass(frozen=True)
class ToolOffer:
    """params.yaml `tool_offer`: how the tools come in every conversation that offers them
    (tool episodes, synth's bad-tool-output episodes, the style examples split offers tools)."""

    seed_schema_share: float  # the seed's schema exactly; the rest a renamed, reworded variant
    distractor_share: float  # conversations that also offer unrelated tools


def offered_tools(
    rng: random.Random, offer: ToolOffer, max_distractors: int = 2
) -> tuple[ToolVariant, list[dict]]:
    """The weather tool (the seed's schema for seed_schema_share of the draws, else a variant)
    and, for distractor_share of the draws, 1 to max_distractors unrelated tools in a shuffled
    order."""
    variant = SEED_VARIANT if rng.random() < offer.seed_schema_share else varied_tool(rng)
    tools = [variant.tool]
    if rng.random() < offer.distractor_share:
        # A fixed count of one draws no number: the split stage's tool offers were made that way.
        n = rng.randint(1, max_distractors) if max_distractors > 1 else 1
        tools += [{"type": "function", "function": d} for d in rng.sample(DISTRACTORS, n)]
        rng.shuffle(tools)
    return variant, tools
