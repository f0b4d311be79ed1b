"""twainlora.train.card and the card stage: the model card's metadata, tables and limits from
metrics, and each adapter's files with its card in models/hub/<name>/."""

import json

from huggingface_hub import ModelCard

from twainlora.eval.compare import rate
from twainlora.eval.decisions import RATES
from twainlora.train.card import TOOL_TARGETS, below_target, data_sources, model_card

from conftest import run_stage, write_params


def scored(hits: int, n: int) -> dict:
    return rate([True] * hits + [False] * (n - hits))


def model_metrics(twain_hits: int, tool_hits: int, repeats: int) -> dict:
    return {
        "style": {
            "twain_share": {**scored(twain_hits, 10), "by_framing": {"plain_system": 0.5}},
            "degeneration": {"repeats_4gram_3x": scored(repeats, 20), "distinct_2": 0.8},
        },
        "tool": {name: {**scored(tool_hits, 20), "seen": 0.9, "novel": 0.6} for name in RATES},
    }


ADAPTER_CONFIG = {
    "r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.05,
    "target_modules": ["v_proj", "q_proj"],
}
BASE_INFO = {"params": {"source": "smollm2-gguf"}, "source_sha256": "b179c9523d0e6a0f" + "0" * 48}
TRAIN = {
    "profile": "cpu",
    "train_examples": 384,
    "steps": 43,
    "eval_loss": 2.1,
    "base_eval_loss": 2.9,
    "params": {"learning_rate": 0.001, "lr_scheduler": "cosine", "bf16": False},
}
SOURCES = [{"name": "reddit/x.csv: 3 headlines", "license": "none stated", "url": "https://x"}]


def test_the_card_carries_hub_metadata_tables_with_intervals_and_the_missed_targets():
    evaluation = {"base": model_metrics(2, 0, 0), "style_tool": model_metrics(7, 19, 3)}
    text = model_card("style_tool", ADAPTER_CONFIG, BASE_INFO, TRAIN, evaluation, SOURCES)
    card = ModelCard(text)
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card.data.library_name == "peft" and "lora" in card.data.tags
    assert (
        "| Twain prompts answered in Twain's voice | 70% [40–89%] (n=10) | 20% [6–51%] (n=10) |"
        in text
    )
    assert "| calls when it should | 95% [76–99%] (n=20) | 90% | 60% | 0% [0–16%] (n=20) |" in text
    assert "dequantized from the Q4_1 GGUF" in text and "b179c9523d0e6a0f" in text
    assert "q_proj, v_proj" in text and "float32" in text and "reddit/x.csv" in text
    limits = text.split("## Limits")[1]
    # 95% meets calls_when_it_should's target; every other tool rate (also 95%) meets its own
    assert "calls when it should" not in limits and "date right" not in limits
    assert "style replies repeating a 4-word run 3+ times 15% (target at most 5%)" in limits
    assert "do not redistribute" in text


def test_rates_under_their_targets_are_listed():
    evaluation = {"base": model_metrics(2, 0, 0), "style_tool": model_metrics(7, 17, 0)}
    text = model_card("style_tool", ADAPTER_CONFIG, BASE_INFO, TRAIN, evaluation, SOURCES)
    limits = text.split("## Limits")[1]
    assert "calls when it should 85% (target 95%)" in limits
    assert "no call when unrelated 85% (target 90%)" in limits
    assert "date right relative" not in limits  # 85% meets its 80%
    assert set(TOOL_TARGETS) <= set(RATES)


def test_voice_targets_judge_the_gain_over_base_the_framings_and_style_tools_voice():
    base = model_metrics(2, 0, 0)
    base["style"]["franklin_share"] = {**scored(1, 10), "by_framing": {}}
    style = model_metrics(6, 0, 0)  # Twain 60% >= 20% + 30 points
    style["style"]["franklin_share"] = {**scored(2, 10), "by_framing": {}}  # 20% < 10% + 20
    style["style"]["twain_share"]["by_framing"] = {
        "control_tokens": 0.75,
        "plain_system": 0.60,  # 15 points under
        "in_request": 0.70,  # 5 points under: holds
    }
    style_tool = model_metrics(4, 20, 0)  # 40%: 20 points under style's 60%
    style_tool["style"]["twain_share"]["by_framing"] = {"control_tokens": 0.4}
    evaluation = {"base": base, "style": style, "style_tool": style_tool}
    assert below_target("style", evaluation) == ["franklin_share", "twain_share/plain_system"]
    assert below_target("style_tool", evaluation) == ["twain_share"]
    limits = model_card("style", ADAPTER_CONFIG, BASE_INFO, TRAIN, evaluation, SOURCES).split(
        "## Limits"
    )[1]
    assert (
        "Franklin share of replies to Franklin prompts 20% (target 30%: the base model's 10% "
        "+ 20 points)" in limits
    )
    assert (
        "Twain share of replies to Twain prompts, framed as plain system 60% (target within "
        "10 points of the control tokens' 75%)" in limits
    )
    tool_limits = model_card(
        "style_tool", ADAPTER_CONFIG, BASE_INFO, TRAIN, evaluation, SOURCES
    ).split("## Limits")[1]
    assert "40% (target within 10 points of style's 60%)" in tool_limits


def test_an_adapter_not_asked_the_tool_items_has_no_tool_table():
    style = model_metrics(7, 0, 0)
    del style["tool"]
    evaluation = {"base": model_metrics(2, 0, 0), "style": style}
    text = model_card("style", ADAPTER_CONFIG, BASE_INFO, TRAIN, evaluation, SOURCES)
    assert "Not evaluated: this adapter learned no tool" in text
    assert "novel schemas" not in text and below_target("style", evaluation) == []


def test_data_sources_group_the_voices_books_by_author_and_headlines_by_file():
    tagged = [
        {"source": "gutenberg", "tags": {"persona": "twain"},
         "meta": {"author": "Mark Twain", "license": "public-domain", "gutenberg_id": 70}},
        {"source": "gutenberg", "tags": {"persona": "twain"},
         "meta": {"author": "Mark Twain", "license": "public-domain", "gutenberg_id": 3176}},
        {"source": "gutenberg", "tags": {"persona": "neutral"},
         "meta": {"author": "Charles Darwin", "license": "public-domain", "gutenberg_id": 1228}},
        {"source": "reddit", "tags": {"persona": "neutral"},
         "meta": {"file": "reddit/a.csv", "license": "none stated", "url": "https://a"}},
        {"source": "reddit", "tags": {"persona": "neutral"},
         "meta": {"file": "reddit/a.csv", "license": "none stated", "url": "https://a"}},
    ]  # fmt: skip
    assert data_sources(tagged) == [
        {
            "name": "Project Gutenberg: 2 books by Mark Twain (ids 70, 3176)",
            "license": "public-domain",
            "url": "https://www.gutenberg.org",
        },
        {"name": "reddit/a.csv: 2 headlines", "license": "none stated", "url": "https://a"},
    ]


def test_each_adapter_gets_its_files_and_a_card(tmp_path):
    for name in ("style", "style_tool"):
        adapter = tmp_path / "models/adapters" / name
        adapter.mkdir(parents=True)
        (adapter / "adapter_config.json").write_text(json.dumps(ADAPTER_CONFIG))
        (adapter / "adapter_model.safetensors").write_bytes(b"weights " + name.encode())
    (tmp_path / "models/base").mkdir(parents=True)
    (tmp_path / "models/base/twainlora.json").write_text(json.dumps(BASE_INFO))
    (tmp_path / "metrics").mkdir()
    for name in ("style", "style_tool"):
        (tmp_path / f"metrics/train_{name}.json").write_text(json.dumps(TRAIN))
    evaluation = {m: model_metrics(5, 12, 0) for m in ("base", "style", "style_tool")}
    (tmp_path / "metrics/eval.json").write_text(json.dumps(evaluation))
    (tmp_path / "data/tagged").mkdir(parents=True)
    (tmp_path / "data/tagged/records.jsonl").write_text(
        json.dumps(
            {"source": "reddit", "tags": {"persona": "neutral"},
             "meta": {"file": "reddit/a.csv", "license": "none stated", "url": "https://a"}}
        ) + "\n"
    )  # fmt: skip
    write_params(tmp_path)
    run_stage("card", tmp_path)
    for name in ("style", "style_tool"):
        hub = tmp_path / "models/hub" / name
        assert (hub / "adapter_model.safetensors").read_bytes() == b"weights " + name.encode()
        card = ModelCard.load(hub / "README.md")
        assert card.data.library_name == "peft" and f"`{name}`" in card.text
    metrics = json.loads((tmp_path / "metrics/card.json").read_text())
    assert metrics["style"] == {"below_target": ["twain_share"]}  # 50%, as the base model
    assert "calls_when_it_should" in metrics["style_tool"]["below_target"]  # 60% < 95%
    assert not (tmp_path / "models/hub/style.tmp").exists()
