"""Each stage run for real, as DVC runs it, on the tiny fixture mirror (tests/fixtures/mirror)."""

import csv
import hashlib
import http.server
import io
import json
import shutil
import threading
from functools import partial
from pathlib import Path

import pytest
import yaml

from conftest import (
    FIXTURES,
    ONION_SOURCE,
    POSTS_SOURCE,
    TINY_TWAIN_BOOK,
    fixture_world,
    run_stage,
    shipped_params,
    write_books,
    write_params,
)

STAGES = [
    "ingest_gutenberg",
    "ingest_reddit",
    "clean",
    "dedupe",
    "chunk",
    "tag",
    "tool_episodes",
    "instruct",
    "synth",
    "split",
]
TINY = [
    TINY_TWAIN_BOOK,
    {
        "id": 2,
        "year": 1900,
        "author": "Nobody",
        "title": "Empty",
        "path": "gutenberg/tiny/2_empty.txt",
    },
    {
        "id": 3,
        "year": 1900,
        "author": "Nobody",
        "title": "Latin-1",
        "path": "gutenberg/tiny/3_not_utf8.txt",
    },
    {
        "id": 4,
        "year": 1900,
        "author": "Nobody",
        "title": "No header",
        "path": "gutenberg/tiny/4_no_header.txt",
    },
    {
        "id": 5,
        "year": 1900,
        "author": "Nobody",
        "title": "One line",
        "path": "gutenberg/tiny/5_one_line.txt",
    },
    {
        "id": 6,
        "year": 1900,
        "author": "Mark Twain",
        "title": "Downloaded",
        "path": "gutenberg/tiny/6_absent.txt",
    },
]


def fixture_params(workdir: Path, url: str) -> None:
    params = shipped_params()
    books = write_books(workdir / "books.yaml", TINY)
    clean = {**params["clean"], "min_tokens": 8, "batch_size": 3}
    tag = {**params["tag"], "spot_sample_size": 5}
    tag["tone_classifier"] = {**tag["tone_classifier"], "epoch": 5}
    write_params(
        workdir,
        books=books,
        weather_world=fixture_world("mirror/geo/cities.csv"),
        ingest_gutenberg={"mirror": "mirror", "url_template": url + "/pg{id}.txt"},
        ingest_reddit={
            "mirror": "mirror",
            "sources": [ONION_SOURCE, POSTS_SOURCE],
        },
        clean=clean,
        tag=tag,
        instruct={
            **params["instruct"],
            "targets": {"style_imitation": 4, "humor": 4, "aphorism": 2, "safety": 2},
        },
        split={**params["split"], "holdout": 0.4},
        synth={
            **params["synth"],
            "weather_comments": "mirror/weather/wmo.json",
            "counts": {"weather_joke": 10, "style_transfer": 3, "bad_tool_output": 4},
        },
        tool_episodes={
            **params["tool_episodes"],
            "episodes": {**params["tool_episodes"]["episodes"], "n_episodes": 80},
        },
    )


@pytest.fixture
def pipeline(workdir):
    """The fixture mirror plus a 5 MB single-line book, and a local 'Project Gutenberg' that
    serves the book missing from the mirror."""
    one_line = (
        "*** START OF THE PROJECT GUTENBERG EBOOK ONE LINE ***\n"
        + "word " * 1_000_000
        + "\n*** END OF THE PROJECT GUTENBERG EBOOK ONE LINE ***\n"
    )
    (workdir / "mirror/gutenberg/tiny/5_one_line.txt").write_text(one_line, "utf-8")
    site = workdir / "site"
    site.mkdir()
    (site / "pg6.txt").write_bytes(
        (FIXTURES / "mirror/gutenberg/tiny/1_tiny.txt")
        .read_bytes()
        .replace(b"A TINY BOOK", b"ANOTHER BOOK")
    )
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fixture_params(workdir, f"http://127.0.0.1:{server.server_port}")
    yield workdir
    server.shutdown()


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def check_sft_outputs(workdir: Path) -> None:
    from twainlora.core.sft import record_errors
    from twainlora.sft.splitting import groups

    instruct = jsonl(workdir / "data/sft/instruct.jsonl")
    metrics = json.loads((workdir / "metrics/instruct.json").read_text())
    assert metrics["templates"]["humor"] == 4 and metrics["templates"]["safety"] == 2
    twain = [
        r for r in jsonl(workdir / "data/tagged/records.jsonl") if r["tags"]["persona"] == "twain"
    ]
    assert (
        metrics["templates"]["style_imitation"] == len(twain) < 4
    )  # fewer than asked: all of them
    splits = {
        n: jsonl(workdir / f"data/splits/{n}.jsonl")
        for n in ("train_style", "eval_style", "train_tool", "eval_tool")
    }
    for rows in splits.values():
        assert all(record_errors(r) == [] for r in rows)
    assert splits["eval_style"] and splits["eval_tool"]
    # "+tools" copies of style examples (offered the tools, no call) stay on their side
    train_ids = {
        r["id"].removesuffix("+tools") for n in ("train_style", "train_tool") for r in splits[n]
    }
    eval_ids = {
        r["id"].removesuffix("+tools") for n in ("eval_style", "eval_tool") for r in splits[n]
    }
    assert any(
        r["id"].endswith("+tools") and r["tags"]["template"] == "tool_irrelevant"
        for r in splits["eval_tool"]
    )
    assert not train_ids & eval_ids
    synthetic = jsonl(workdir / "data/sft/synth.jsonl")
    assert synthetic and all(
        r["tags"]["synthetic"] and r["tags"]["source"] == "synthetic" for r in synthetic
    )
    everything = instruct + synthetic + jsonl(workdir / "data/sft/tool_episodes.jsonl")
    assert train_ids | eval_ids == {r["id"] for r in everything}
    group = dict(zip([r["id"] for r in everything], groups(everything), strict=True))
    assert not {group[i] for i in train_ids} & {group[i] for i in eval_ids}


def run_all(workdir: Path) -> None:
    for stage in STAGES:
        run_stage(stage, workdir)


def test_fixture_pipeline_end_to_end(pipeline):
    run_all(pipeline)
    raw = jsonl(pipeline / "data/raw/gutenberg.jsonl")
    assert [r["id"] for r in raw] == ["gutenberg:1", "gutenberg:4", "gutenberg:5", "gutenberg:6"]
    assert raw[3]["meta"]["retrieved"] == "download" and raw[0]["meta"]["retrieved"] == "mirror"
    assert (
        raw[0]["meta"]["sha256"]
        == hashlib.sha256((FIXTURES / "mirror/gutenberg/tiny/1_tiny.txt").read_bytes()).hexdigest()
    )
    ingest_rejects = {
        r["id"]: r["detail"] for r in jsonl(pipeline / "data/rejects/ingest_gutenberg.jsonl")
    }
    assert ingest_rejects["gutenberg:2"].endswith("2_empty.txt: empty file")
    assert "3_not_utf8.txt: not valid UTF-8" in ingest_rejects["gutenberg:3"]

    reddit_rejects = jsonl(pipeline / "data/rejects/ingest_reddit.jsonl")
    assert [(r["file"], r["row"], r["reason"]) for r in reddit_rejects] == [
        ("reddit/onion_small.csv", 3, "wrong_column_count"),
        ("reddit/onion_small.csv", 4, "missing_text"),
        ("reddit/onion_small.csv", 5, "bad_encoding"),
        ("reddit/onion_small.csv", 7, "unknown_label"),
        ("reddit/posts_small.csv", 3, "bad_field"),
    ]

    clean = jsonl(pipeline / "data/clean/records.jsonl")
    book = [r for r in clean if r["id"].startswith("gutenberg:1:")]
    assert book[0]["text"].startswith("The river was wide and brown")
    assert book[-1]["text"].endswith("the point of the lesson.")
    assert not any("footnote by the editor" in r["text"] or "[1]" in r["text"] for r in clean)
    # the downloaded copy of the same book is there, and dedupe removes it
    assert any(r["id"].startswith("gutenberg:6:") for r in clean)
    reasons = {
        (r["id"].split(":p")[0], r["reason"]) for r in jsonl(pipeline / "data/rejects/clean.jsonl")
    }
    assert ("gutenberg:4", "book_unreadable") in reasons
    assert ("gutenberg:5", "too_long") in reasons
    assert {
        ("gutenberg:1", "footnote"),
        ("gutenberg:1", "illustration"),
        ("gutenberg:1", "heading"),
    } <= reasons
    metrics = json.loads((pipeline / "metrics/clean.json").read_text())
    assert metrics["gutenberg"]["dropped"]["too_long"] == 1

    dedup = jsonl(pipeline / "data/dedup/records.jsonl")
    # Book 6 has no body bounds: only its heuristically trimmed front matter survives dedupe.
    body = {r["text"] for r in dedup if r["id"].startswith("gutenberg:1:")}
    assert body and not body & {r["text"] for r in dedup if r["id"].startswith("gutenberg:6:")}
    dups = jsonl(pipeline / "data/rejects/dedupe.jsonl")
    assert all(
        d["reason"] == "duplicate" and d["detail"].startswith("of gutenberg:1:")
        for d in dups
        if d["id"].startswith("gutenberg:6:")
    )

    chunks = jsonl(pipeline / "data/chunks/records.jsonl")
    book_chunks = [c for c in chunks if c["source"] == "gutenberg"]
    assert {c["meta"]["passage"] for c in book_chunks} == {"gutenberg:1:s0000", "gutenberg:1:s0001"}
    assert all(c["meta"]["author"] == "Mark Twain" for c in book_chunks)

    tagged = jsonl(pipeline / "data/tagged/records.jsonl")
    assert len(tagged) == len(chunks)
    assert all(t["tags"]["persona"] == "twain" for t in tagged if t["source"] == "gutenberg")
    with open(pipeline / "data/spot_labels/tag_sample.csv", encoding="utf-8", newline="") as f:
        sheet = list(csv.reader(f))
    assert sheet[0] == [
        "id",
        "source",
        "text",
        "persona",
        "tone",
        "domain",
        "device",
        "human_persona",
        "human_tone",
        "human_domain",
        "human_device",
    ]
    assert len(sheet) == 6 and all(row[7:] == ["", "", "", ""] for row in sheet[1:])

    episodes = jsonl(pipeline / "data/sft/tool_episodes.jsonl")
    assert len(episodes) == 80 and jsonl(pipeline / "data/rejects/tool_episodes.jsonl") == []
    jokes = {r["text"] for r in tagged if r["tags"]["tone"] == "satirical"}
    told = [e for e in episodes if e["provenance"]]
    check_sft_outputs(pipeline)
    assert all(e["provenance"][0] in {r["id"] for r in tagged} for e in told)
    text_of = {r["id"]: r["text"] for r in tagged}
    for e in told:  # each headline cited is a satire joke the episode quotes (any turn: sessions)
        said = " ".join(m.get("content") or "" for m in e["messages"] if m["role"] == "assistant")
        for rid in (p for p in e["provenance"] if p.startswith("reddit")):
            assert text_of[rid] in jokes and f'"{text_of[rid]}"' in said, e["id"]


def test_two_runs_give_identical_outputs_and_spot_labels_survive(pipeline):
    run_all(pipeline)
    outputs = sorted(p for p in (pipeline / "data").rglob("*") if p.is_file()) + sorted(
        (pipeline / "metrics").glob("*.json")
    )
    first = {p: p.read_bytes() for p in outputs}
    sheet = pipeline / "data/spot_labels/tag_sample.csv"
    lines = sheet.read_text("utf-8").splitlines()
    # A human labels the tone of the first sampled record, agreeing with the tagger.
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    rows[0]["human_tone"] = rows[0]["tone"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sheet.write_text(buf.getvalue(), "utf-8")
    run_all(pipeline)
    for p in outputs:
        if p.name in ("tag_sample.csv", "tag.json"):
            continue
        assert p.read_bytes() == first[p], f"{p} changed between two runs"
    assert "human_tone" in sheet.read_text("utf-8") and rows[0]["tone"] in sheet.read_text("utf-8")
    metrics = json.loads((pipeline / "metrics/tag.json").read_text())
    assert metrics["spot_labels"]["tone"] == {"labeled": 1, "agreement": 1.0}


def test_a_crash_leaves_the_previous_output_whole(pipeline):
    for stage in STAGES[:3]:
        run_stage(stage, pipeline)
    before = (pipeline / "data/clean/records.jsonl").read_bytes()
    with open(pipeline / "data/raw/reddit.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "reddit:x:1", "text": \n')
    proc = run_stage("clean", pipeline, check=False)
    assert proc.returncode != 0
    assert "data/raw/reddit.jsonl:" in proc.stderr and "not valid JSON" in proc.stderr
    assert (pipeline / "data/clean/records.jsonl").read_bytes() == before
    assert not list((pipeline / "data/clean").glob(".*.tmp"))


def test_unknown_param_stops_the_stage_before_any_work(pipeline):
    params = shipped_params()
    write_params(pipeline, dedupe={**params["dedupe"], "treshold": 0.8})
    proc = run_stage("dedupe", pipeline, check=False)
    assert proc.returncode != 0 and "unknown key(s) ['treshold']" in proc.stderr


def test_synth_with_an_endpoint_sends_nothing_on_a_rerun(pipeline):
    from openai_stub import OpenAIStub

    for stage in STAGES[: STAGES.index("synth")]:
        run_stage(stage, pipeline)
    params = yaml.safe_load((pipeline / "params.yaml").read_text())
    with OpenAIStub() as stub:
        params["synth"]["generator"] = "endpoint"
        params["synth"]["endpoint"].update(base_url=stub.base_url, model="stub")
        (pipeline / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run_stage("synth", pipeline)
        first = (pipeline / "data/sft/synth.jsonl").read_bytes()
        sent = len(stub.requests)
        metrics = json.loads((pipeline / "metrics/synth.json").read_text())
        assert (
            sent == metrics["requests_sent"] == metrics["generated"] >= 14
        )  # 10 jokes, 4 tool answers
        run_stage("synth", pipeline)
        assert len(stub.requests) == sent  # every answer came from the cache
        assert json.loads((pipeline / "metrics/synth.json").read_text())["requests_sent"] == 0
        assert (pipeline / "data/sft/synth.jsonl").read_bytes() == first
    # the server is gone: a cold cache fails cleanly, keeping the previous output whole
    shutil.rmtree(pipeline / ".cache")
    proc = run_stage("synth", pipeline, check=False)
    assert proc.returncode != 0
    assert (pipeline / "data/sft/synth.jsonl").read_bytes() == first
    rejects = jsonl(pipeline / "data/rejects/synth.jsonl")
    assert rejects and all(r["reason"] == "generation_failed" for r in rejects)
