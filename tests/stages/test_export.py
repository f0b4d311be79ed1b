"""The export stage for real: a LoRA adapter merged into SmolLM2 answers exactly as the
base model with the adapter does, and a standalone folder loads without PEFT."""

import json
import os

import pytest

from conftest import run_stage, write_params

pytestmark = pytest.mark.slow

PROMPTS = ["What's the weather in Paris tomorrow?", "Tell me a joke about fog."]


@pytest.fixture
def workdir_with_adapter(tmp_path, base_model_dir):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    (tmp_path / "models").mkdir()
    os.symlink(base_model_dir, tmp_path / "models/base")
    torch.manual_seed(0)
    # init_lora_weights=False: random, non-zero deltas, so merging changes the weights.
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base_model_dir), config)
    model.save_pretrained(tmp_path / "models/adapters/style_tool")
    write_params(
        tmp_path,
        export={
            "adapter": "style_tool",
            "prompts": PROMPTS,
            "max_new_tokens": 12,
            "gguf_quants": ["bf16"],
            "threads": 2,
        },
    )
    return tmp_path


def greedy(model, tokenizer, prompt):
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
    )["input_ids"]
    with torch.no_grad():
        return model.generate(input_ids=ids, max_new_tokens=12, do_sample=False)[0].tolist()


def test_the_merged_model_answers_as_the_adapter_does(workdir_with_adapter, base_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run_stage("export", workdir_with_adapter)
    merged_dir = workdir_with_adapter / "models/merged/style_tool"
    metrics = json.loads((workdir_with_adapter / "metrics/export.json").read_text())
    assert metrics["greedy_matches"] == metrics["prompts"] == 2
    # GGUF for llama.cpp: the stage checked that the bf16 file decodes as the bf16-rounded
    # merged model (this random adapter's float32 tokens may differ: only reported), the LoRA
    # file holds the adapter's tensors, and the base model is there for --lora.
    assert set(metrics["gguf"]["merged"]) == {"bf16"}
    assert metrics["gguf"]["lora_round_trip"] == {"style_tool": True}
    gguf = workdir_with_adapter / "models/gguf"
    assert sorted(p.name for p in gguf.iterdir()) == [
        "base.bf16.gguf",
        "style_tool.bf16.gguf",
        "style_tool.lora.gguf",
    ]

    assert not (merged_dir / "adapter_config.json").exists()
    assert (merged_dir / "chat_template.jinja").exists()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    base = AutoModelForCausalLM.from_pretrained(base_model_dir)
    adapted = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base_model_dir),
        workdir_with_adapter / "models/adapters/style_tool",
    )
    for prompt in PROMPTS:
        expected = greedy(adapted, tokenizer, prompt)
        assert greedy(merged, tokenizer, prompt) == expected
    # and the merge did something: the adapter's deltas are in the weights
    assert not merged.model.layers[0].self_attn.q_proj.weight.equal(
        base.model.layers[0].self_attn.q_proj.weight
    )


def test_a_missing_adapter_is_named(workdir_with_adapter):
    write_params(
        workdir_with_adapter,
        export={
            "adapter": "stlye_tool",
            "prompts": PROMPTS,
            "max_new_tokens": 12,
            "gguf_quants": ["bf16"],
            "threads": 2,
        },
    )
    proc = run_stage("export", workdir_with_adapter, check=False)
    assert proc.returncode != 0
    assert "models/adapters/stlye_tool is not an adapter folder" in proc.stderr
    assert not (workdir_with_adapter / "models/merged").exists()
