"""The real stages on a slice of the real corpora: two books and two headline dumps."""

import json

import pytest

from conftest import (
    SHARED_CORPORA,
    run_stage,
    shipped_books,
    shipped_params,
    write_books,
    write_params,
)

pytestmark = pytest.mark.slow


def test_real_slice_through_every_data_stage(tmp_path):
    params = shipped_params()
    books = write_books(
        tmp_path / "books.yaml", [b for b in shipped_books() if b["id"] in (43855, 74)]
    )
    sources = [
        s
        for s in params["ingest_reddit"]["sources"]
        if s["key"] in ("rexxy212_theonion", "umbrae_nottheonion")
    ]
    write_params(
        tmp_path,
        books=books,
        ingest_gutenberg={**params["ingest_gutenberg"], "mirror": str(SHARED_CORPORA)},
        ingest_reddit={
            **params["ingest_reddit"],
            "mirror": str(SHARED_CORPORA),
            "sources": sources,
        },
    )
    for stage in ["ingest_gutenberg", "ingest_reddit", "clean", "dedupe", "chunk", "tag"]:
        run_stage(stage, tmp_path)
    tagged = [json.loads(line) for line in (tmp_path / "data/tagged/records.jsonl").open()]
    by_source = {s: [r for r in tagged if r["source"] == s] for s in ("gutenberg", "reddit")}
    assert len(by_source["gutenberg"]) > 100 and len(by_source["reddit"]) > 1000
    tom = [r for r in by_source["gutenberg"] if r["meta"]["gutenberg_id"] == 74]
    assert tom[0]["text"].startswith("PREFACE") is False
    assert all(r["tags"]["persona"] == "twain" for r in tom)
    assert {
        r["tags"]["tone"] for r in by_source["gutenberg"] if r["meta"]["gutenberg_id"] == 43855
    } == {"aphoristic"}
    assert {r["tags"]["tone"] for r in by_source["reddit"]} == {"satirical", "wry"}
    assert all(r["meta"]["tokens"] <= 1024 for r in by_source["gutenberg"])
    clean = json.loads((tmp_path / "metrics/clean.json").read_text())
    assert clean["reddit"]["dropped"]["too_short"] > 0 and clean["gutenberg"]["kept"] > 500
    tag = json.loads((tmp_path / "metrics/tag.json").read_text())
    assert tag["tone_classifier"]["heldout_accuracy"] > 0.7
