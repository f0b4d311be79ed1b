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
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import atomic_open, read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data import tagging
from twainlora.data.tagging import TagRules, ToneClassifierParams

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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("tag", Params)
    import pandas as pd

    records = list(read_jsonl(IN))
    classifier, clf_report = tagging.ToneClassifier.train(records, params.tone_classifier)
    tagger = tagging.Tagger(params.rules)
    tagged = tagging.tag_all(records, classifier, tagger, params.batch_size, str(IN))
    # The sheet is git-tracked: labels a human filled in stay with their record.
    previous = tagging.read_spot_labels(SPOT)
    rows = tagging.spot_sheet(tagged, params.spot_sample_size, params.spot_seed, previous)
    with atomic_open(SPOT) as f:
        pd.DataFrame(rows).to_csv(f, index=False, lineterminator="\n")
    write_jsonl(OUT, tagged)
    write_json(
        METRICS,
        {
            "records": len(tagged),
            "tags": tagging.tag_counts(tagged),
            "tone_classifier": clf_report,
            "spot_labels": tagging.spot_label_agreement(rows),
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
