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
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records
from twainlora.core.seeded import components
from twainlora.core.sft import dialogue_text, grounding_errors, record_errors
from twainlora.data.dedupe import MinHashParams, duplicate_pairs
from twainlora.domain.weather import WeatherService
from twainlora.sft import synth
from twainlora.sft.episodes import EpisodeBuilder, EpisodeParams
from twainlora.sft.generators import (
    EndpointGenerator,
    GenerationError,
    TemplateGenerator,
)
from twainlora.sft.synth_templates import TEMPLATES

log = logging.getLogger("synth")

INSTRUCT = Path("data/sft/instruct.jsonl")
TAGGED = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/synth.jsonl")
REJECTS = Path("data/rejects/synth.jsonl")
METRICS = Path("metrics/synth.json")
HARD_CAP_RATIO = 4.0


@dataclass(frozen=True)
class Params:
    generator: str  # templates | endpoint
    endpoint: EndpointConfig
    cache_dir: str
    seed: int
    counts: dict[str, int]  # weather_joke, style_transfer, bad_tool_output
    # Synthetic records at most this many times the human-derived pairs (hard limit 4).
    cap_ratio: float
    cities: str
    weather_comments: str
    min_city_population: int
    persona_shares: dict[str, float]
    seed_schema_share: float
    distractor_share: float
    first_reference_date: str
    last_reference_date: str
    dedupe: MinHashParams
    # Above this share of failed generations (endpoint down, bad answers) the stage fails and
    # leaves its previous outputs untouched; below it, failures are rejects with reasons.
    max_failed_share: float

    def __post_init__(self):
        if self.generator not in ("templates", "endpoint"):
            raise ValueError("generator must be 'templates' or 'endpoint'")
        if not 0.0 < self.cap_ratio <= HARD_CAP_RATIO:
            raise ValueError(f"cap_ratio must be within (0, {HARD_CAP_RATIO}]")
        unknown = set(self.counts) - {"weather_joke", "style_transfer", "bad_tool_output"}
        if unknown:
            raise ValueError(f"unknown synth kinds {sorted(unknown)}")


def capped(counts: dict[str, int], cap: int) -> dict[str, int]:
    total = sum(counts.values())
    if total <= cap:
        return dict(counts)
    return {k: int(v * cap / total) for k, v in counts.items()}


def dedupe_text(record: dict) -> str:
    """What makes two records the same: the answer, for a joke or a retelling (the training
    target); the whole conversation, for a tool episode (the same apology in a different
    situation still teaches something)."""
    return dialogue_text(record) if record.get("tools") else record["messages"][-1]["content"]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    p = load_params("synth", Params)
    human = list(read_jsonl(INSTRUCT))
    cap = int(p.cap_ratio * len(human))
    counts = capped(p.counts, cap)
    if p.generator == "endpoint":
        generator = EndpointGenerator(p.endpoint, p.cache_dir, p.seed)
    else:
        generator = TemplateGenerator(TEMPLATES, p.seed)

    service = WeatherService.from_csv(p.cities)
    ctx = synth.SynthContext(
        service, synth.load_comments(p.weather_comments), p.min_city_population, p.seed
    )
    headlines = sorted(
        (r["id"], r["text"])
        for r in read_records(TAGGED, require_tags=True)
        if r["meta"].get("subreddit") == "nottheonion"
    )
    episode_params = EpisodeParams(
        n_episodes=counts["bad_tool_output"],
        seed=p.seed,
        case_shares={"success": 1.0},
        persona_shares=p.persona_shares,
        seed_schema_share=p.seed_schema_share,
        distractor_share=p.distractor_share,
        first_reference_date=p.first_reference_date,
        last_reference_date=p.last_reference_date,
        min_city_population=p.min_city_population,
    )
    builder = EpisodeBuilder(service, episode_params)

    records, rejects = [], []

    def attempt(kind, index, task, make):
        try:
            text = generator.generate(task)
        except GenerationError as e:
            rejects.append(
                {
                    "stage": "synth",
                    "id": f"synth:{kind}:{index:05d}",
                    "reason": "generation_failed",
                    "detail": str(e),
                    "prompt": task.prompt,
                }
            )
            return
        records.append(make(text))

    for i in tqdm(range(counts["weather_joke"]), desc="synth: jokes"):
        task, info = synth.weather_joke_task(ctx, i)
        attempt(
            "joke",
            i,
            task,
            lambda text, i=i, task=task, info=info: synth.weather_joke_record(i, task, info, text),
        )
    stride = max(1, len(headlines) // max(1, counts["style_transfer"]))
    for i, headline in enumerate(headlines[::stride][: counts["style_transfer"]]):
        task, info = synth.style_transfer_task(headline, i, p.seed)
        attempt(
            "retell",
            i,
            task,
            lambda text, i=i, info=info: synth.style_transfer_record(i, info, text),
        )
    for i in tqdm(range(counts["bad_tool_output"]), desc="synth: bad tool output"):
        episode, task = synth.bad_tool_episode(builder, i, p.seed)
        attempt(
            "badtool",
            i,
            task,
            lambda text, i=i, episode=episode: synth.bad_tool_record(i, episode, text),
        )

    failed = sum(r["reason"] == "generation_failed" for r in rejects)
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

    # Never volume inflation: drop synthetic records that near-duplicate a human pair or an
    # earlier synthetic one.
    texts = [dedupe_text(r) for r in human] + [dedupe_text(r) for r in records]
    n_human = len(human)
    drop: dict[int, str] = {}
    for members in components(len(texts), duplicate_pairs(texts, p.dedupe)):
        humans = [m for m in members if m < n_human]
        synthetic = [m - n_human for m in members if m >= n_human]
        keep = None if humans else synthetic[0]
        for s in synthetic:
            if s != keep:
                drop[s] = "duplicate_of_human" if humans else "duplicate_of_synthetic"
    kept = []
    for i, record in enumerate(records):
        errors = record_errors(record) or grounding_errors(record)
        reason = drop.get(i) or ("invalid" if errors else None)
        if reason:
            rejects.append(
                {
                    "stage": "synth",
                    "id": record["id"],
                    "reason": reason,
                    "detail": errors or "",
                    "record": record,
                }
            )
        else:
            kept.append(record)
    metrics = {
        "generator": p.generator,
        "requests_sent": getattr(generator, "requests", 0),
        "human_pairs": n_human,
        "cap": cap,
        "asked": dict(p.counts),
        "after_cap": counts,
        "generated": len(records),
        "kept": len(kept),
        "kept_by_case": dict(sorted(Counter(r["tags"]["case"] for r in kept).items())),
        "rejected": dict(sorted(Counter(r["reason"] for r in rejects).items())),
        "synthetic_share_of_sft": round(len(kept) / (len(kept) + n_human), 4) if kept else 0.0,
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
