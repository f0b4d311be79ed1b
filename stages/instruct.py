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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import read_records, reject
from twainlora.core.seeded import allot
from twainlora.core.sft import record_errors
from twainlora.data.filters import load_lexicon
from twainlora.sft import instruct
from twainlora.sft.generators import EndpointGenerator
from twainlora.sft.maxims import maxims

log = logging.getLogger("instruct")

IN = Path("data/tagged/records.jsonl")
OUT = Path("data/sft/instruct.jsonl")
REJECTS = Path("data/rejects/instruct.jsonl")
METRICS = Path("metrics/instruct.json")


@dataclass(frozen=True)
class Params:
    instruct: instruct.InstructParams
    endpoint: EndpointConfig  # used when instruct.neutral_side is "endpoint"
    cache_dir: str


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("instruct", Params)
    p = params.instruct
    paraphraser = None
    if p.neutral_side == "endpoint":
        paraphraser = EndpointGenerator(params.endpoint, params.cache_dir, p.seed)
    records = list(read_records(IN, require_tags=True))
    pairs, rejects = [], []

    # style imitation: Twain and Franklin passages
    style_counts = allot(p.targets["style_imitation"], p.style_persona_shares)
    chosen = []
    for persona, n in style_counts.items():
        pool = [
            r for r in records if r["source"] == "gutenberg" and r["tags"]["persona"] == persona
        ]
        chosen += instruct.take(pool, n, p.seed, "style")
    terms = instruct.sketch_terms([r["text"] for r in chosen], p.sketch_terms)
    for record, record_terms in tqdm(list(zip(chosen, terms, strict=True)), desc="instruct: style"):
        pair, reason = instruct.style_pair(record, p, record_terms, paraphraser)
        if pair is None:
            rejects.append(reject(record, "instruct", "no_neutral_side", reason))
        else:
            pairs.append(pair)

    # humor: real headlines
    weather_words = frozenset(load_lexicon("weather"))
    humor_counts = allot(p.targets["humor"], p.humor_subreddit_shares)
    for subreddit, n in humor_counts.items():
        pool = [r for r in records if r["meta"].get("subreddit") == subreddit]
        pairs += [
            instruct.humor_pair(r, p, weather_words)
            for r in instruct.take(pool, n, p.seed, "humor")
        ]

    # aphorism: real maxims with the passage around them
    seen, aphorisms = set(), []
    for record in records:
        if record["source"] != "gutenberg" or record["tags"]["persona"] == "neutral":
            continue
        for n, maxim in enumerate(maxims(record)):
            if maxim.lower() in seen:  # the same epigraph in two editions or chunk overlaps
                continue
            if pair := instruct.aphorism_pair(record, maxim, n, p):
                seen.add(maxim.lower())
                aphorisms.append(pair)
    pairs += sorted(aphorisms, key=lambda r: r["id"])[: p.targets["aphorism"]]

    # safety: decline, offer a harmless satire headline instead
    jokes = [(r["id"], r["text"]) for r in records if r["tags"]["tone"] == "satirical"]
    jokes = [
        (j["id"], j["text"])
        for j in instruct.take(
            [{"id": i, "text": t} for i, t in jokes], p.targets["safety"], p.seed, "safety"
        )
    ]
    personas = [k for k, n in allot(len(jokes), p.safety_persona_shares).items() for _ in range(n)]
    pairs += [
        instruct.safety_pair(i, joke, p, persona)
        for i, (joke, persona) in enumerate(zip(jokes, personas, strict=True))
    ]

    for pair in pairs:
        if errors := record_errors(pair):
            raise ValueError(f"instruct built an invalid record {pair['id']}: {errors}")
    by_template = Counter(r["tags"]["template"] for r in pairs)
    metrics = {
        "pairs": len(pairs),
        "templates": dict(sorted(by_template.items())),
        "shortfall": {
            t: p.targets[t] - by_template.get(t, 0)
            for t in sorted(p.targets)
            if by_template.get(t, 0) < p.targets[t]
        },
        "template_persona": dict(
            sorted(
                Counter(f"{r['tags']['template']}/{r['tags']['persona']}" for r in pairs).items()
            )
        ),
        "tones": dict(sorted(Counter(r["tags"]["tone"] for r in pairs).items())),
        "domains": dict(sorted(Counter(r["tags"]["domain"] for r in pairs).items())),
        "rejected": dict(Counter(r["reason"] for r in rejects)),
        "neutral_side": p.neutral_side,
        "endpoint_requests": getattr(paraphraser, "requests", 0),
    }
    write_jsonl(OUT, pairs)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info("%d pairs %s; %d rejected", len(pairs), dict(by_template), len(rejects))
    return 0 if pairs else 1


if __name__ == "__main__":
    sys.exit(main())
