"""Remove near-duplicates within and across sources, keeping the best copy of each cluster.

    python stages/dedupe.py

Reads data/clean/records.jsonl. MinHash over word shingles, banded LSH for candidates, exact
Jaccard to confirm (twainlora/data/dedupe.py says why), clusters by union-find; the keeper is the
first by the `prefer` id prefixes, then the longest text, the highest score, the smallest id.
Writes:
  data/dedup/records.jsonl   the kept records, in input order
  data/rejects/dedupe.jsonl  each removed copy with the id it duplicates and their Jaccard
  metrics/dedupe.json        clusters (within and across sources) and removals per source
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.core.records import reject
from twainlora.core.seeded import components
from twainlora.data.dedupe import MinHashParams, duplicate_pairs, keeper_rank

log = logging.getLogger("dedupe")

IN = Path("data/clean/records.jsonl")
OUT = Path("data/dedup/records.jsonl")
REJECTS = Path("data/rejects/dedupe.jsonl")
METRICS = Path("metrics/dedupe.json")


@dataclass(frozen=True)
class Params:
    prefer: list[str]  # id prefixes, most preferred first, for the copy a cluster keeps


def source_key(record_id: str) -> str:
    """The file a record came from: 'gutenberg:148:p00012' -> 'gutenberg:148'."""
    return record_id.rsplit(":", 1)[0]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("dedupe", Params)
    minhash = load_params("near_duplicate", MinHashParams)
    records = list(read_jsonl(IN))
    pairs = duplicate_pairs([r["text"] for r in records], minhash, progress=True)
    best_pair = {}
    for i, j, score in pairs:
        best_pair[(i, j)] = score
    removed: dict[int, tuple[int, float]] = {}
    cross_file = cross_source = 0
    for members in components(len(records), pairs):
        keeper = min(members, key=lambda k: keeper_rank(records[k], params.prefer))
        cross_file += len({source_key(records[k]["id"]) for k in members}) > 1
        cross_source += len({records[k]["source"] for k in members}) > 1
        for k in members:
            if k != keeper:
                score = best_pair.get((min(k, keeper), max(k, keeper)))
                removed[k] = (keeper, score)
    kept, rejects = [], []
    removed_by = Counter()
    for k, record in enumerate(records):
        if k not in removed:
            kept.append(record)
            continue
        keeper, score = removed[k]
        removed_by[source_key(record["id"])] += 1
        # score is None when the two are linked only through other members of the cluster.
        detail = f"of {records[keeper]['id']}" + (
            f" (jaccard {score:.3f})" if score else " (via cluster)"
        )
        rejects.append(reject(record, "dedupe", "duplicate", detail))
    n_clusters = len({removed[k][0] for k in removed})
    metrics = {
        "records_in": len(records),
        "records_out": len(kept),
        "removed": len(rejects),
        "confirmed_pairs": len(pairs),
        "clusters": n_clusters,
        "clusters_cross_file": cross_file,
        "clusters_cross_source": cross_source,
        "removed_by_source": {
            src: sum(n for key, n in removed_by.items() if key.startswith(src + ":"))
            for src in sorted({key.split(":")[0] for key in removed_by})
        },
        "removed_by_file": dict(sorted(removed_by.items())),
        "lsh_midpoint": round(minhash.lsh_midpoint, 4),
    }
    write_jsonl(OUT, kept)
    write_jsonl(REJECTS, rejects)
    write_json(METRICS, metrics)
    log.info(
        "%d records in, %d duplicates removed in %d clusters",
        len(records),
        len(rejects),
        n_clusters,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
