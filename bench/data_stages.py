"""Throughput of every data stage over the shipped corpora.

    python bench/data_stages.py

Runs each stage of the data half (ingest_gutenberg .. tag) as DVC would, from the repository
root, on the real mirror, and prints records in, records out, wall seconds and docs/s per
stage, plus the total against the 2-minute target for this 2-core machine. Writes
bench/results/data_stages.json. The stages' outputs are the pipeline's own, so afterwards
`dvc status` reports them changed only if the code or params differ from dvc.lock.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    # (stage, input files counted as docs in, output file counted as docs out)
    ("ingest_gutenberg", None, "data/raw/gutenberg.jsonl"),
    ("ingest_reddit", None, "data/raw/reddit.jsonl"),
    ("clean", ["data/raw/gutenberg.jsonl", "data/raw/reddit.jsonl"], "data/clean/records.jsonl"),
    ("dedupe", ["data/clean/records.jsonl"], "data/dedup/records.jsonl"),
    ("chunk", ["data/dedup/records.jsonl"], "data/chunks/records.jsonl"),
    ("tag", ["data/chunks/records.jsonl"], "data/tagged/records.jsonl"),
]
TARGET_SECONDS = 120  # the target for all data stages together on 2 cores


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main() -> int:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    rows, total = [], 0.0
    for stage, inputs, output in STAGES:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, f"stages/{stage}.py"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        docs_out = count_lines(ROOT / output)
        docs_in = sum(count_lines(ROOT / p) for p in inputs) if inputs else docs_out
        total += seconds
        rows.append(
            {
                "stage": stage,
                "docs_in": docs_in,
                "docs_out": docs_out,
                "seconds": round(seconds, 2),
                "docs_per_s": round(docs_in / seconds, 1),
            }
        )
        print(
            f"{stage:18s} {docs_in:>8d} in {docs_out:>8d} out {seconds:7.1f} s "
            f"{docs_in / seconds:10.1f} docs/s"
        )
    verdict = "PASS" if total <= TARGET_SECONDS else "FAIL"
    print(f"{'total':18s} {total:.1f} s (target <= {TARGET_SECONDS} s): {verdict}")
    result = {
        "stages": rows,
        "total_seconds": round(total, 1),
        "target_seconds": TARGET_SECONDS,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    out = ROOT / "bench/results/data_stages.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
