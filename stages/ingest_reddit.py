"""Ingest the satire-headline CSVs listed in params.yaml (ingest_reddit) into text records.

    python stages/ingest_reddit.py

Each CSV schema is mapped by its entry in params (text column, subreddit or label mapping).
Writes:
  data/raw/reddit.jsonl             one record per good row (title as text; selftext, score,
                                    subreddit, created_utc, permalink in meta where present)
  data/rejects/ingest_reddit.jsonl  malformed rows with file, row, line and reason
  metrics/ingest_reddit.json        rows kept and rejected per file and reason
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.reddit import CsvSource, Reject, read_csv

log = logging.getLogger("ingest_reddit")

OUT = Path("data/raw/reddit.jsonl")
REJECTS = Path("data/rejects/ingest_reddit.jsonl")
METRICS = Path("metrics/ingest_reddit.json")


@dataclass(frozen=True)
class Params:
    mirror: str
    sources: list[CsvSource]


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("ingest_reddit", Params)
    records, rejects = [], []
    metrics: dict[str, dict] = {}
    for source in params.sources:
        path = Path(params.mirror) / source.path
        if not path.exists():
            raise SystemExit(
                f"ingest_reddit: {path} is missing from the mirror "
                f"(source: {source.source_url or 'unknown'}); fetch it there first"
            )
        kept, reasons = 0, Counter()
        for item in read_csv(source, path.read_bytes()):
            if isinstance(item, Reject):
                reasons[item.reason] += 1
                rejects.append(
                    {
                        "stage": "ingest_reddit",
                        "file": source.path,
                        "row": item.row,
                        "line": item.line,
                        "reason": item.reason,
                        "detail": item.detail,
                        "raw": item.raw,
                    }
                )
            else:
                records.append(item)
                kept += 1
        metrics[source.key] = {"kept": kept, "rejected": dict(sorted(reasons.items()))}
        log.info(
            "%s: %d rows kept, %d rejected %s",
            source.path,
            kept,
            sum(reasons.values()),
            dict(reasons) or "",
        )
    write_jsonl(OUT, records)
    write_jsonl(REJECTS, rejects)
    total = {"kept": len(records), "rejected": len(rejects)}
    write_json(METRICS, {"total": total, "files": metrics})
    return 0 if records else 1


if __name__ == "__main__":
    sys.exit(main())
