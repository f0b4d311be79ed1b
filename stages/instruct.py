"""Instruction pairs from tagged records: style imitation, humor, aphorism and safety.

    python stages/instruct.py

Reads data/tagged/records.jsonl; twainlora/sft/instruct.py says what each template is. The mix
is set by instruct.targets (caps) and the persona/subreddit shares; the achieved mix is in
the metrics, with every shortfall visible rather than padded. Writes:
  data/sft/instruct.jsonl       SFT records in OpenAI chat format
  data/rejects/instruct.jsonl   passages that could not become a pair, with the reason
  metrics/instruct.json         pairs per template, persona, tone and source; shortfalls
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records
from twainlora.core.sft import record_errors
from twainlora.data.filters import load_lexicon
from twainlora.sft import instruct
from twainlora.sft.generators import EndpointGenerator

log = logging.getLogger("instruct")

IN = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/instruct.jsonl")
REJECTS = Path("data/rejects/instruct.jsonl")
METRICS = Path("metrics/instruct.json")


@dataclass(frozen=True)
class Params(instruct.InstructParams):
    endpoint: EndpointConfig  # the paraphraser when neutral_side is "endpoint"
    cache_dir: str


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    p = load_params("instruct", Params)
    paraphraser = None
    if p.neutral_side == "endpoint":
        paraphraser = EndpointGenerator(p.endpoint, p.cache_dir, p.seed)
    records = list(read_records(IN, require_tags=True))
    weather_words = frozenset(load_lexicon("weather"))
    pairs, rejects = instruct.template_mix(records, p, weather_words, paraphraser)
    for pair in pairs:
        if errors := record_errors(pair):
            raise ValueError(f"instruct built an invalid record {pair['id']}: {errors}")
    metrics = instruct.mix_metrics(pairs, rejects, p)
    metrics["endpoint_requests"] = getattr(paraphraser, "requests", 0)
    write_jsonl(OUT, pairs)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info("%d pairs %s; %d rejected", len(pairs), metrics["templates"], len(rejects))
    return 0 if pairs else 1


if __name__ == "__main__":
    sys.exit(main())
