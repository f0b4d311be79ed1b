"""twainlora.sft.episodes.records: episodes as records, their metrics, jokes and maxims."""

from twainlora.core.params import from_dict
from twainlora.domain.weather import WeatherService
from twainlora.sft.episodes import (
    EpisodeBuilder,
    EpisodeParams,
    build_records,
    episode_metrics,
    jokes_and_maxims,
)

from conftest import parsed_world, shipped_offer, shipped_params


def tagged(rid, text, tone, device="none"):
    return {"id": rid, "text": text, "tags": {"tone": tone, "device": device}}


def test_jokes_are_headlines_and_maxims_are_poor_richards():
    records = [
        tagged("reddit:o:1", "Area Man Wins", "satirical", "headline"),
        tagged("reddit:o:2", "Not A Headline", "satirical", "pun"),
        tagged(
            "gutenberg:1:s0c0",
            'Then "god helps them that help themselves," as Poor Richard says. And so on.',
            "aphoristic",
        ),
    ]
    jokes, maxims = jokes_and_maxims(records, max_jokes=5, seed=0)
    assert jokes == [("reddit:o:1", "Area Man Wins")]
    assert maxims == [
        ("gutenberg:1:s0c0", '"God helps them that help themselves," as Poor Richard says.')
    ]


def test_build_records_validates_and_counts():
    p = from_dict(
        EpisodeParams,
        {
            **shipped_params()["tool_episodes"]["episodes"],
            "n_episodes": 40,
        },
        "episodes",
    )
    world = parsed_world()
    builder = EpisodeBuilder(WeatherService.from_csv(world.cities), p, world, shipped_offer())
    records, rejects = build_records(builder, p)
    assert len(records) == 40 and rejects == []
    assert [r["id"] for r in records] == [f"tool:{i:05d}" for i in range(40)]
    again, _ = build_records(builder, p)
    assert again == records  # one generator per episode: the same plan, the same records
    metrics = episode_metrics(records, rejects, [], [])
    assert metrics["episodes"] == 40 and sum(c["n"] for c in metrics["cases"].values()) == 40
