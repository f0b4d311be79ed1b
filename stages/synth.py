"""Synthetic gap-filling, capped and deduplicated against the human-derived pairs.

    python stages/synth.py

Fills what the corpora lack: weather jokes for place x season x condition (cities from the
mirror's world list, conditions from the offline weather service, commentary from the
mirror's WMO table), Twain-voiced retellings of real absurd headlines, and tool episodes
where the tool answers with unusable output. The generator is `templates` (offline, the
default) or `endpoint` (any OpenAI-compatible server, every response cached on disk under
synth.cache_dir, so a rerun sends no request). Writes:
  data/sft/synth.jsonl       synthetic SFT records (tags.synthetic = true)
  data/rejects/synth.jsonl   failed generations and near-duplicates of human pairs, with reasons
  metrics/synth.json         generated, failed, deduplicated, kept; the cap; requests sent
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records
from twainlora.data.dedupe import MinHashParams
from twainlora.domain.weather import WeatherService, WeatherWorld
from twainlora.sft import synth
from twainlora.sft.episodes import EpisodeBuilder, ToolOffer
from twainlora.sft.generators import EndpointGenerator, TemplateGenerator
from twainlora.sft.synth_templates import TEMPLATES

log = logging.getLogger("synth")

INSTRUCT = Path("data/sft/instruct.jsonl")
TAGGED = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/synth.jsonl")
REJECTS = Path("data/rejects/synth.jsonl")
METRICS = Path("metrics/synth.json")

Params = synth.SynthParams


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    p = load_params("synth", Params)
    world = load_params("weather_world", WeatherWorld)
    offer = load_params("tool_offer", ToolOffer)
    near_duplicate = load_params("near_duplicate", MinHashParams)
    human = list(read_jsonl(INSTRUCT))
    cap = int(p.cap_ratio * len(human))
    counts = synth.capped(p.counts, cap)
    if p.generator == "endpoint":
        generator = EndpointGenerator(p.endpoint, p.cache_dir, p.seed)
    else:
        generator = TemplateGenerator(TEMPLATES, p.seed)
    service = WeatherService.from_csv(world.cities)
    ctx = synth.SynthContext(
        service, synth.load_comments(p.weather_comments), world.min_city_population, p.seed
    )
    news = synth.headlines(read_records(TAGGED, require_tags=True))
    builder = EpisodeBuilder(service, p.episode_params(counts["bad_tool_output"]), world, offer)
    records, rejects = synth.generate(generator, ctx, news, builder, counts)

    failed = len(rejects)
    asked = len(records) + failed
    if asked and failed / asked > p.max_failed_share:
        write_jsonl(REJECTS, rejects)
        log.error(
            "%d of %d generations failed (over max_failed_share %.2f); first: %s; see %s",
            failed,
            asked,
            p.max_failed_share,
            rejects[0]["detail"],
            REJECTS,
        )
        return 1

    kept, dropped = synth.keep(human, records, near_duplicate)
    rejects += dropped
    metrics = {
        "generator": p.generator,
        "requests_sent": getattr(generator, "requests", 0),
        "human_pairs": len(human),
        "cap": cap,
        "asked": dict(p.counts),
        "after_cap": counts,
        "generated": len(records),
        "kept": len(kept),
        "kept_by_case": dict(sorted(Counter(r["tags"]["case"] for r in kept).items())),
        "rejected": dict(sorted(Counter(r["reason"] for r in rejects).items())),
        "synthetic_share_of_sft": round(len(kept) / (len(kept) + len(human)), 4) if kept else 0.0,
    }
    write_jsonl(OUT, kept)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info(
        "%d synthetic records kept of %d generated; rejects %s",
        len(kept),
        len(records),
        metrics["rejected"],
    )
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
