"""The evaluate stage end to end on SmolLM2 (the real base_model stage's output) with two tiny
LoRA adapters made here, on a handful of records and held-out items (made by the heldout
builder over the fixture cities): every output, the judge against a real server, and human
ratings that survive a rerun."""

import csv
import json
import os
import shutil

import pytest

from twainlora.core.jsonl import write_jsonl
from twainlora.domain.weather import GET_WEATHER_TOOL as TOOL
from twainlora.eval import decisions, heldout

from conftest import ROOT, parsed_world, run_stage, shipped_params, write_params
from openai_stub import OpenAIStub

pytestmark = pytest.mark.slow

TWAIN = [
    "The river was wide and brown that morning, and the steamboat came around the bend with its bell ringing.",
    "Well, I warn't going to let on, so I lit out for the woods and laid low till the widow give up hollering.",
    "It ain't no use to talk to a raft, it just goes along the way the river wants, and so does a boy.",
]
FRANKLIN = [
    "Early to bed and early to rise makes a man healthy, wealthy and wise.",
    "A penny saved is twopence clear; industry pays debts, while despair increaseth them.",
]
HEADLINES = [
    "Area Man Confident He Could Run Country Better Than His Own Household",
    "Nation's Weather Forecasters Admit They Have Just Been Guessing",
]
RESULT = {
    "location": "Paris, France",
    "date": "2026-03-15",
    "temperature_c": 9,
    "condition": "Rain",
}


def style_record(i, persona, template, source, answer):
    system = f"[PERSONA={persona.upper()}] [TONE=HUMOROUS] [DOMAIN=GENERAL] Talk like {persona}."
    return {
        "id": f"s:{i}",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Say something, number {i}."},
            {"role": "assistant", "content": answer},
        ],
        "tags": {"persona": persona, "template": template, "source": source},
    }


def tool_record(i, case, result=None):
    system = {
        "role": "system",
        "content": "[PERSONA=NEUTRAL] [TONE=WRY] [DOMAIN=WEATHER] You are a concise assistant. Today is 2026-03-14.",
    }
    tags = {"persona": "neutral", "template": "tool_success", "source": "synthetic", "case": case}
    if case == "missing_location":
        messages = [
            system,
            {"role": "user", "content": "Will it rain tomorrow?"},
            {"role": "assistant", "content": "Which city should I check?"},
            {"role": "user", "content": "Paris"},
        ]
    elif case == "irrelevant":
        messages = [
            system,
            {"role": "user", "content": "Who wrote Tom Sawyer?"},
            {"role": "assistant", "content": "Mark Twain wrote it."},
        ]
    else:
        call = {"location": "Paris", "date": "2026-03-15"}
        messages = [
            system,
            {"role": "user", "content": "Weather in Paris tomorrow?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": json.dumps(call)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
            {"role": "assistant", "content": "Paris tomorrow: rain, 9°C."},
        ]
    return {"id": f"t:{i}", "messages": messages, "tools": [TOOL], "tags": tags}


def heldout_builder():
    from twainlora.core.params import from_dict
    from twainlora.domain.weather import WeatherService

    world = parsed_world()
    params = from_dict(heldout.HeldoutParams, shipped_params()["heldout"], "heldout")
    books = [("Roughing It", "Mark Twain")]
    headlines = ["Area Man Blames Weather For Everything"]
    service = WeatherService.from_csv(world.cities)
    return heldout.HeldoutBuilder(service, params, world, set(), books, headlines)


def make_adapter(base_dir, out, seed):
    """A tiny LoRA with random weights on both sides, so its answers differ from the base's."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(model, config).save_pretrained(out)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, base_model_dir):
    w = tmp_path_factory.mktemp("evaluate")
    (w / "models/adapters").mkdir(parents=True)
    os.symlink(base_model_dir, w / "models/base")
    for seed, name in enumerate(["style", "style_tool"]):
        make_adapter(base_model_dir, w / "models/adapters" / name, seed)
    style = [
        style_record(i, "twain", "style_imitation", "gutenberg", t) for i, t in enumerate(TWAIN)
    ]
    style += [
        style_record(10 + i, "franklin", "aphorism", "gutenberg", t) for i, t in enumerate(FRANKLIN)
    ]
    style += [
        style_record(20 + i, "neutral", "humor", "reddit", t) for i, t in enumerate(HEADLINES)
    ]
    tool = [tool_record(0, "success", RESULT), tool_record(1, "api_error", {"error": "boom"})]
    tool += [tool_record(2, "missing_location"), tool_record(3, "irrelevant")]
    splits = w / "data/splits"
    splits.mkdir(parents=True)
    for name, rows in [("style", style), ("tool", tool)]:
        write_jsonl(splits / f"train_{name}.jsonl", rows)
        write_jsonl(splits / f"eval_{name}.jsonl", rows)
    others = [
        {
            "id": f"gutenberg:1228:s0000c{c:03d}",
            "text": f"Natural selection acts, in case {c}, by accumulating slight favourable variations.",
            "source": "gutenberg",
            "meta": {"author": "Charles Darwin"},
        }
        for c in range(20)
    ]
    (w / "data/tagged").mkdir(parents=True)
    write_jsonl(w / "data/tagged/records.jsonl", others)
    builder = heldout_builder()
    write_jsonl(
        w / "data/heldout/tool.jsonl",
        [builder.tool_item(kind, i, i == 1) for kind in heldout.TOOL_KINDS for i in range(2)],
    )
    write_jsonl(
        w / "data/heldout/style.jsonl",
        [builder.style_item(kind, i, []) for kind in ("twain", "franklin") for i in range(2)],
    )
    (w / "metrics").mkdir()
    for name in ["style", "style_tool"]:
        losses = {"train_loss": 1.0, "eval_loss": 1.25, "loss_gap": 0.25, "base_eval_loss": 2.0}
        (w / f"metrics/train_{name}.json").write_text(json.dumps(losses))
    (w / "reports").mkdir()
    shutil.copy(ROOT / "reports/spot_check_ratings.csv", w / "reports/spot_check_ratings.csv")
    params = shipped_params()["evaluate"]
    params["profile"] = "smoke"
    # A few new tokens: this test checks the plumbing, not the answers.
    params["max_new_tokens"] = {"style": 6, "tool": 6, "examples": 6}
    params["classifier"] = {**params["classifier"], "epoch": 5, "holdout_other": 0.3}
    params["judge"] = {**params["judge"], "samples": 4, "cache_dir": str(w / ".cache/judge")}
    write_params(w, evaluate=params)
    return w


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_stage_then_a_rerun_with_ratings_and_a_judge(workdir, monkeypatch):
    for var in ("TWAINLORA_JUDGE_BASE_URL", "TWAINLORA_JUDGE_MODEL"):
        monkeypatch.delenv(var, raising=False)
    run_stage("evaluate", workdir)
    metrics = json.loads((workdir / "metrics/eval.json").read_text())
    assert metrics["judge"] == "not configured" and "judge" not in metrics["base"]
    # The style adapter is not asked the tool items (it learned no tool).
    assert "tool" not in metrics["style"] and "tool" not in metrics["style"]["delta_vs_base"]
    for model in ("base", "style_tool"):
        assert {"style", "tool", "toxicity", "copy", "spot_check"} <= set(metrics[model])
        tool = metrics[model]["tool"]
        assert set(tool) == set(decisions.RATES)
        assert tool["calls_when_it_should"]["n"] == 2 and tool["no_call_when_unrelated"]["n"] == 1
        assert all(0.0 <= r["rate"] <= 1.0 and r["ci95"] for r in tool.values())
    for model in ("base", "style", "style_tool"):
        style = metrics[model]["style"]
        assert (
            style["twain_share"]["n"] == 1 and style["degeneration"]["repeats_4gram_3x"]["n"] == 2
        )
    for model in ("style", "style_tool"):
        assert metrics[model]["overfit"]["loss_gap"] == 0.25
        assert "twain_share" in metrics[model]["delta_vs_base"]["style"]
        assert isinstance(metrics[model]["toxicity"]["not_above_base"], bool)
    assert set(metrics["classifier"]["f1"]) == {"twain", "franklin", "other", "satire", "neutral"}
    # the smoke profile: the first held-out item of each kind
    assert metrics["run"]["style_prompts"] == 2 and metrics["run"]["tool_items"] == 7
    # The answers came from the server's engine, asked as a client with its defaults, greedy.
    decoding = metrics["run"]["decoding"]
    assert decoding["engine"] == "twainlora.serve.engine" and decoding["tool_choice"] == "auto"
    assert decoding["temperature"] == 0.0 and decoding["tool_grammar"] is True
    assert sum(metrics["run"]["finish_reasons"].values()) == 3 * (2 + 10) + 2 * 7

    confusion = read_csv(workdir / "plots/eval_confusion.csv")
    assert confusion and set(confusion[0]) == {"actual", "predicted"}
    bars = read_csv(workdir / "plots/eval_models.csv")
    assert {b["model"] for b in bars} == {"base", "style", "style_tool"}
    examples = (workdir / "reports/examples.md").read_text()
    assert examples.count("\n## ") == 10 and "| base | style | style_tool |" in examples
    sheet = read_csv(workdir / "reports/spot_check.csv")
    assert [sum(r["model"] == m for r in sheet) for m in ("base", "style", "style_tool")] == [
        9,
        2,
        9,
    ]
    assert not any(r["tone"] or r["correctness"] for r in sheet)
    # Random adapters: if set_adapter / disable_adapter did nothing, the answers would agree.
    answers = {m: [r["response"] for r in sheet if r["model"] == m] for m in ("base", "style")}
    assert answers["base"] != answers["style"]

    # A human rates two rows in the ratings file; the judge is pointed at a real server.
    rated = [
        {**sheet[0], "tone": "4", "correctness": "yes", "hallucinated_weather": "no"},
        {**sheet[9], "tone": "2", "correctness": "no", "hallucinated_weather": "yes"},
    ]
    ratings_file = workdir / "reports/spot_check_ratings.csv"
    with open(ratings_file, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(sheet[0]))
        writer.writeheader()
        # and one rating of an answer the model no longer gives (another response hash)
        older = sheet[1]["id"].rsplit(":", 1)[0] + ":0000000000"
        writer.writerows(rated + [{**sheet[1], "id": older, "tone": "5"}])
    ratings_before = ratings_file.read_bytes()
    with OpenAIStub() as stub:
        monkeypatch.setenv("TWAINLORA_JUDGE_BASE_URL", stub.base_url)
        monkeypatch.setenv("TWAINLORA_JUDGE_MODEL", "judge")
        run_stage("evaluate", workdir)
        sent = len(stub.requests)
    again = json.loads((workdir / "metrics/eval.json").read_text())
    assert ratings_file.read_bytes() == ratings_before  # the stage never writes the ratings
    assert again["base"]["spot_check"] == {
        "rated": 1,
        "tone_mean": 4.0,
        "correct_share": 1.0,
        "hallucinated_weather_share": 0.0,
    }
    assert again["style"]["spot_check"]["rated"] == 1
    # the third rating was for another text (the id holds the response's hash): stale
    assert again["spot_check"] == {"rows": 20, "rated_rows": 2, "stale_ratings": 1}
    refilled = read_csv(workdir / "reports/spot_check.csv")
    assert refilled[0]["tone"] == "4" and refilled[9]["hallucinated_weather"] == "yes"
    # 4 answers per model; identical requests would be answered from the cache
    assert again["judge"] == {"samples_per_model": 4, "requests_sent": sent} and 0 < sent <= 12
    for model, n in (("base", 4), ("style", 2), ("style_tool", 4)):
        judged = again[model]["judge"]
        assert judged["n"] == n and judged["unparsed"] == 0 and 1 <= judged["twainness"] <= 5
    # Greedy and seeded: the same answers on a rerun.
    assert (workdir / "reports/examples.md").read_text() == examples
    for model in ("base", "style_tool"):
        assert again[model]["tool"] == metrics[model]["tool"]
