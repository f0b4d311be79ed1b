"""twainlora.sft.episodes.tools: schema variants and the tools an episode offers."""

import json
import random

from twainlora.domain.weather import DATE_KEYS, GET_WEATHER_TOOL, LOCATION_KEYS
from twainlora.sft.episodes import SEED_VARIANT, ToolOffer, offered_tools, varied_tool


def test_schema_variants_differ_but_keep_the_two_required_roles():
    rng = random.Random(0)
    variants = [varied_tool(rng) for _ in range(50)]
    assert len({json.dumps(v.tool, sort_keys=True) for v in variants}) > 40
    for v in variants:
        required = v.tool["function"]["parameters"]["required"]
        assert sorted(required) == sorted([v.location_key, v.date_key])
    assert SEED_VARIANT.tool is GET_WEATHER_TOOL


def test_offered_tools_follow_the_shares_and_the_distractor_cap():
    for seed in range(50):
        variant, tools = offered_tools(random.Random(seed), ToolOffer(1.0, 1.0), max_distractors=1)
        assert variant == SEED_VARIANT and len(tools) == 2 and GET_WEATHER_TOOL in tools
    counts = {len(offered_tools(random.Random(s), ToolOffer(0.0, 1.0))[1]) for s in range(50)}
    assert counts == {2, 3}
    variant, tools = offered_tools(random.Random(0), ToolOffer(0.0, 0.0))
    assert tools == [variant.tool] and variant != SEED_VARIANT


def test_variants_name_the_place_and_date_with_the_shared_keys():
    rng = random.Random(1)
    for _ in range(30):
        v = varied_tool(rng)
        assert v.location_key in LOCATION_KEYS and v.date_key in DATE_KEYS
