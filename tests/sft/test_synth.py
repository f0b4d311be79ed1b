"""twainlora.sft.synth: the cap, generation with its failures, and the dedupe policy."""

from twainlora.core.params import from_dict
from twainlora.data.dedupe import MinHashParams
from twainlora.domain.weather import WeatherService
from twainlora.sft import synth
from twainlora.sft.episodes import EpisodeBuilder
from twainlora.sft.generators import GenerationError, TemplateGenerator
from twainlora.sft.synth_templates import TEMPLATES

from conftest import FIXTURES, parsed_world, shipped_offer, shipped_params

P = from_dict(
    synth.SynthParams,
    {
        **shipped_params()["synth"],
        "weather_comments": str(FIXTURES / "mirror/weather/wmo.json"),
    },
    "synth",
)
WORLD = parsed_world()
SERVICE = WeatherService.from_csv(WORLD.cities)
CTX = synth.SynthContext(SERVICE, synth.load_comments(P.weather_comments), 10_000, P.seed)
NEWS = [("reddit:n:1", "Man Sues Himself"), ("reddit:n:2", "Town Elects Dog Mayor")]
COUNTS = {"weather_joke": 6, "style_transfer": 2, "bad_tool_output": 3}


def answer(record):
    return record["messages"][-1]["content"]


def test_the_cap_scales_every_kind_down():
    assert synth.capped({"a": 10, "b": 30}, 100) == {"a": 10, "b": 30}
    assert synth.capped({"a": 10, "b": 30}, 20) == {"a": 5, "b": 15}


def test_generate_makes_every_kind_and_rejects_failures():
    builder = EpisodeBuilder(
        SERVICE, P.episode_params(COUNTS["bad_tool_output"]), WORLD, shipped_offer()
    )
    generator = TemplateGenerator(TEMPLATES, P.seed)
    records, rejects = synth.generate(generator, CTX, NEWS, builder, COUNTS)
    assert rejects == [] and len(records) == sum(COUNTS.values())
    assert {r["tags"]["case"] for r in records} == {
        "weather_joke",
        "style_transfer",
        "bad_tool_output",
    }
    again, _ = synth.generate(TemplateGenerator(TEMPLATES, P.seed), CTX, NEWS, builder, COUNTS)
    assert again == records

    class Down:
        def generate(self, task):
            raise GenerationError("endpoint down")

    records, rejects = synth.generate(Down(), CTX, NEWS, builder, COUNTS)
    assert records == [] and {r["reason"] for r in rejects} == {"generation_failed"}
    assert len(rejects) == sum(COUNTS.values())


def test_keep_drops_near_duplicates_of_humans_and_of_earlier_synthetics():
    builder = EpisodeBuilder(SERVICE, P.episode_params(0), WORLD, shipped_offer())
    records, _ = synth.generate(
        TemplateGenerator(TEMPLATES, P.seed), CTX, NEWS, builder, {**COUNTS, "bad_tool_output": 0}
    )
    human = [{**records[0], "id": "instruct:x"}]
    twin = {**records[1], "id": "synth:joke:twin"}
    kept, rejects = synth.keep(human, records + [twin], MinHashParams())
    reasons = {r["id"]: r["reason"] for r in rejects}
    assert reasons[records[0]["id"]] == "duplicate_of_human"
    assert reasons["synth:joke:twin"] == "duplicate_of_synthetic"
    assert records[1] in kept and answer(records[1]) not in [answer(h) for h in human]
