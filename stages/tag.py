"""Tag every chunk with persona, tone, domain, source and device.

    python stages/tag.py

Reads data/chunks/records.jsonl. Trains the fastText tone classifier on weak labels (see
twainlora/data/tagging.py), applies rules and classifier, and writes:
  data/tagged/records.jsonl          the records with their tags
  data/spot_labels/tag_sample.csv    250 seeded random records with empty human_* columns;
                                     git-tracked: fill the columns in, commit, and the next
                                     `dvc repro` keeps them and reports agreement
  metrics/tag.json                   counts per tag value, classifier accuracy, agreement
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from twainlora.core.jsonl import atomic_open, read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import TAG_VALUES, validation_errors
from twainlora.data.tagging import (
    SPOT_TAGS,
    Tagger,
    TagRules,
    ToneClassifier,
    ToneClassifierParams,
    spot_label_agreement,
    spot_sample,
)

log = logging.getLogger("tag")

IN = Path("data/chunks/records.jsonl")
OUT = Path("data/tagged/records.jsonl")
SPOT = Path("data/spot_labels/tag_sample.csv")
METRICS = Path("metrics/tag.json")


@dataclass(frozen=True)
class Params:
    rules: TagRules
    tone_classifier: ToneClassifierParams
    spot_sample_size: int
    spot_seed: int
    batch_size: int


def read_spot_labels(path: Path) -> dict[str, dict]:
    """Human labels already in the sheet, by record id (an absent sheet has none)."""
    import pandas as pd

    if not path.exists():
        return {}
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    human = [c for c in sheet.columns if c.startswith("human_")]
    return {row["id"]: {c: row[c] for c in human} for row in sheet.to_dict("records")}


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("tag", Params)
    import pandas as pd

    records = list(read_jsonl(IN))
    classifier, clf_report = ToneClassifier.train(records, params.tone_classifier)
    tagger = Tagger(params.rules)
    tagged = []
    for start in tqdm(range(0, len(records), params.batch_size), desc="tag", unit="batch"):
        batch = records[start : start + params.batch_size]
        probs = classifier.humorous_prob([r["text"] for r in batch])
        for record, p in zip(batch, probs, strict=True):
            out = {**record, "tags": tagger.tags(record, p)}
            if errors := validation_errors(out):
                raise ValueError(f"{IN}: record {record['id']} fails the schema: {errors}")
            tagged.append(out)

    previous = read_spot_labels(SPOT)
    rows = []
    for r in spot_sample(tagged, params.spot_sample_size, params.spot_seed):
        human = previous.get(r["id"], {})
        rows.append(
            {
                "id": r["id"],
                "source": r["source"],
                "text": r["text"][:600],
                **{t: r["tags"][t] for t in SPOT_TAGS},
                **{f"human_{t}": human.get(f"human_{t}", "") for t in SPOT_TAGS},
            }
        )
    with atomic_open(SPOT) as f:
        pd.DataFrame(rows).to_csv(f, index=False, lineterminator="\n")

    counts = {
        tag: dict(sorted(Counter(r["tags"][tag] for r in tagged).items())) for tag in TAG_VALUES
    }
    write_jsonl(OUT, tagged)
    write_json(
        METRICS,
        {
            "records": len(tagged),
            "tags": counts,
            "tone_classifier": clf_report,
            "spot_labels": spot_label_agreement(rows),
        },
    )
    log.info(
        "%d records tagged; tone classifier held-out accuracy %.3f",
        len(tagged),
        clf_report["heldout_accuracy"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
