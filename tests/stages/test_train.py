"""The train stage for real on SmolLM2: a tiny run that must beat the base model on its own
data, a standard PEFT adapter folder, and the QLoRA refusal on CPU."""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_stage, shipped_params, write_params

pytestmark = pytest.mark.slow


def tiny_workdir(tmp_path, base_model_dir, **train_overrides):
    (tmp_path / "models").mkdir(parents=True)
    os.symlink(base_model_dir, tmp_path / "models/base")
    splits = tmp_path / "data/splits"
    splits.mkdir(parents=True)
    from twainlora.core.jsonl import write_jsonl

    # Short weather-joke pairs: the same few answers in train and eval, so a few steps must
    # lower the eval loss below the base model's.
    pairs = []
    for i, city in enumerate(
        ["Paris", "Cairo", "Hannibal", "Sydney", "Tromso", "Lima", "Oslo", "Quito"]
    ):
        pairs.append(
            {
                "id": f"t:{i}",
                "tags": {"template": "humor", "persona": "twain"},
                "messages": [
                    {
                        "role": "system",
                        "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] Be Twain.",
                    },
                    {"role": "user", "content": f"A weather joke about {city}?"},
                    {
                        "role": "assistant",
                        "content": f"In {city} the rain is so reliable the ducks charge admission.",
                    },
                ],
            }
        )
    write_jsonl(splits / "train_style.jsonl", pairs)
    write_jsonl(splits / "eval_style.jsonl", pairs[:4])
    params = shipped_params()
    train = {
        **params["train"],
        "max_length": 128,
        "eval_steps": 2,
        "logging_steps": 1,
        "learning_rate": 2e-3,
        "epochs": {"style": 3, "style_tool": 1},
        "batch_size": 4,
        "grad_accum": 1,
        "profiles": {
            "cpu": {"max_train_examples": None, "max_eval_examples": None},
            "gpu": {"max_train_examples": None, "max_eval_examples": None},
        },
        **train_overrides,
    }
    write_params(tmp_path, train=train)
    return tmp_path


def test_a_tiny_run_beats_the_base_model_and_saves_a_standard_adapter(tmp_path, base_model_dir):
    workdir = tiny_workdir(tmp_path, base_model_dir)
    run_stage("train", workdir, args=["style"])
    metrics = json.loads((workdir / "metrics/train_style.json").read_text())
    assert metrics["eval_loss"] < metrics["base_eval_loss"] - 0.5
    assert metrics["train_examples"] == 8 and metrics["steps"] == 6
    adapter = workdir / "models/adapters/style"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in adapter.iterdir()
    }
    assert "README.md" not in {p.name for p in adapter.iterdir()}
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (
        config["r"] == 16
        and config["lora_alpha"] == 32
        and sorted(config["target_modules"])
        == sorted(shipped_params()["train"]["lora"]["target_modules"])
    )
    curve = (workdir / "plots/train_style.csv").read_text().splitlines()
    assert curve[0] == "step,loss,eval_loss" and len(curve) > 6
    assert not (workdir / ".cache/checkpoints/style").exists()
    assert metrics["resumed_from_step"] is None and metrics["tokens_per_s"] > 0

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_model_dir), adapter)
    assert model.peft_config["default"].r == 16


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path, base_model_dir):
    workdir = tiny_workdir(tmp_path, base_model_dir, eval_steps=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    cmd = [sys.executable, str(ROOT / "stages/train.py"), "style"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stderr=subprocess.DEVNULL)
    # Kill it hard once a complete checkpoint is on disk (trainer_state.json comes last).
    while proc.poll() is None and not list(
        workdir.glob(".cache/checkpoints/style/*/checkpoint-2/trainer_state.json")
    ):
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    assert not (workdir / "models/adapters/style").exists()

    run_stage("train", workdir, args=["style"])
    metrics = json.loads((workdir / "metrics/train_style.json").read_text())
    assert metrics["resumed_from_step"] >= 2 and metrics["steps"] == 6
    assert metrics["eval_loss"] < metrics["base_eval_loss"] - 0.5
    curve = (workdir / "plots/train_style.csv").read_text().splitlines()
    assert curve[1].startswith("1,")  # the curve keeps the steps trained before the kill


def test_changed_params_do_not_resume_anothers_checkpoint(tmp_path, base_model_dir):
    workdir = tiny_workdir(tmp_path, base_model_dir, eval_steps=1)
    stale = workdir / ".cache/checkpoints/style/0123456789abcdef/checkpoint-5"
    stale.mkdir(parents=True)
    (stale / "trainer_state.json").write_text("{}")
    run_stage("train", workdir, args=["style"])
    metrics = json.loads((workdir / "metrics/train_style.json").read_text())
    assert metrics["resumed_from_step"] is None and metrics["steps"] == 6


def test_the_same_seed_trains_the_same_adapter(tmp_path, base_model_dir):
    # Byte-identical folders, also under other string hash seeds (PEFT writes target_modules
    # from a set: a fresh clone's `dvc repro` once changed adapter_config.json this way).
    digests = []
    for run, hash_seed in (("a", "1"), ("b", "2")):
        workdir = tiny_workdir(tmp_path / run, base_model_dir)
        run_stage("train", workdir, args=["style"], env={"PYTHONHASHSEED": hash_seed})
        adapter = workdir / "models/adapters/style"
        digests.append(
            {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in adapter.iterdir()}
        )
        modules = json.loads((adapter / "adapter_config.json").read_text())["target_modules"]
        assert modules == sorted(modules)
    assert digests[0] == digests[1]


def test_qlora_is_refused_on_cpu_before_anything_loads(tmp_path, base_model_dir):
    workdir = tiny_workdir(tmp_path, base_model_dir, quantization="nf4")
    proc = run_stage("train", workdir, args=["style"], check=False)
    assert proc.returncode != 0
    assert (
        "quantization: nf4 needs CUDA" in proc.stderr and "silently wrong gradients" in proc.stderr
    )
    assert not (workdir / "models/adapters").exists()


def test_unknown_adapter_name(tmp_path, base_model_dir):
    workdir = tiny_workdir(tmp_path, base_model_dir)
    proc = run_stage("train", workdir, args=["styel"], check=False)
    assert (
        proc.returncode != 0 and "usage: python stages/train.py {style|style_tool}" in proc.stderr
    )
