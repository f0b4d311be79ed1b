"""GGUF export on the real SmolLM2: the bf16 and Q8_0 files, read back by transformers'
GGUF loader, decode the same greedy tokens as the safetensors model; a LoRA adapter's GGUF
holds exactly its tensors in llama.cpp's names and layout."""

import json
import re

import numpy as np
import pytest

from twainlora.core.tokens import smollm2_gguf_path
from twainlora.train import gguf_export

PROMPTS = ["Tell me about the Mississippi river.", "What's the weather in Paris tomorrow?"]


def test_rope_permutation_is_undone_exactly():
    w = np.arange(9 * 64 * 5, dtype=np.float32).reshape(9 * 64, 5)
    permuted = gguf_export.rope_permute(w, 9)
    assert not np.array_equal(permuted, w)
    assert np.array_equal(gguf_export.unpermute(permuted, 9), w)
    # GGML pairs rotary halves: row i of head 0 (first half) lands at 2i, its partner at 2i+1.
    assert np.array_equal(permuted[0], w[0]) and np.array_equal(permuted[1], w[32])


def test_generation_markers_leave_the_chat_template():
    template = "{% generation %}{{ x }}{%- endgeneration -%} y {%generation%}z{% endgeneration %}"
    assert gguf_export.plain_chat_template(template) == "{{ x }} y z"


def greedy(model, tokenizer, text, n=20):
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=n, do_sample=False)
    return out[0, ids["input_ids"].shape[1] :].tolist()


@pytest.mark.slow
@pytest.mark.parametrize("quant", gguf_export.QUANTS)
def test_model_gguf_decodes_like_the_safetensors_model(base_model_dir, tmp_path, quant):
    import gguf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    out = tmp_path / f"model-{quant}.gguf"
    gguf_export.write_model(
        base_model_dir, smollm2_gguf_path(), out, quant, tokenizer.chat_template
    )
    reader = gguf.GGUFReader(out)
    template = reader.fields["tokenizer.chat_template"].contents()
    assert "<tool_call>" in template and not re.search(r"{%-?\s*(end)?generation", template)
    assert reader.fields["tokenizer.ggml.pre"].contents() == "smollm"
    types = {t.tensor_type.name for t in reader.tensors if len(t.shape) == 2}
    assert types == {quant.upper()}
    reference = AutoModelForCausalLM.from_pretrained(base_model_dir, dtype=torch.float32).eval()
    loaded = gguf_export.load_back(out)
    for prompt in PROMPTS:
        assert greedy(loaded, tokenizer, prompt) == greedy(reference, tokenizer, prompt)
    if quant == "bf16":  # the file holds exactly the rounded weights
        rounded = gguf_export.rounded_to_bf16(reference)
        assert gguf_export.greedy_matches(loaded, rounded, tokenizer, PROMPTS, 20) == 2
        for name, weight in rounded.state_dict().items():
            if name != "lm_head.weight":
                assert torch.equal(loaded.state_dict()[name], weight), name


@pytest.mark.slow
def test_lora_gguf_round_trips_the_adapter(base_model_dir, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors.numpy import load_file
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_model_dir)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        init_lora_weights=False,  # random B too, so the permutation of B rows is tested
    )
    get_peft_model(model, config).save_pretrained(tmp_path / "adapter")
    base_config = json.loads((base_model_dir / "config.json").read_text())
    out = tmp_path / "adapter.gguf"
    gguf_export.write_lora(tmp_path / "adapter", base_config, out)
    import gguf

    reader = gguf.GGUFReader(out)
    assert reader.fields["general.type"].contents() == "adapter"
    assert reader.fields["adapter.lora.alpha"].contents() == 8.0
    names = {t.name for t in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.29.ffn_down.weight.lora_b" in names
    original = load_file(tmp_path / "adapter/adapter_model.safetensors")
    back = gguf_export.read_lora(out, base_config)
    assert len(back) == len(original) == 30 * 7 * 2
    for key, value in original.items():
        module = key.removeprefix("base_model.model.").removesuffix(".weight")
        assert np.array_equal(back[module], value.astype(np.float32)), key


def test_unsupported_inputs_are_refused_with_the_reason(tmp_path):
    with pytest.raises(gguf_export.GGUFExportError, match="Llama-architecture"):
        gguf_export._name_map({"model_type": "gpt2", "num_hidden_layers": 2})
    adapter = tmp_path / "dora"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "use_dora": True, "lora_alpha": 8})
    )
    with pytest.raises(gguf_export.GGUFExportError, match="plain LoRA only"):
        gguf_export.write_lora(adapter, {"model_type": "llama"}, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()
    with pytest.raises(gguf_export.GGUFExportError, match="quant must be"):
        gguf_export.write_model(tmp_path, smollm2_gguf_path(), tmp_path / "m.gguf", "q4", "")


@pytest.mark.slow
def test_the_plain_template_renders_exactly_like_ours(base_model_dir):
    from transformers import AutoTokenizer

    from twainlora.domain.weather import GET_WEATHER_TOOL

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    call = {"name": "get_weather", "arguments": '{"location": "Paris", "date": "2026-01-02"}'}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather paris tomorrow"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": call}]},
        {"role": "tool", "tool_call_id": "c", "content": '{"temperature_c": 3}'},
        {"role": "assistant", "content": "Cold."},
        {"role": "user", "content": "thanks"},
    ]
    ours, plain = (
        tokenizer.apply_chat_template(
            messages, tools=[GET_WEATHER_TOOL], tokenize=False, add_generation_prompt=True,
            chat_template=template,
        )
        for template in (tokenizer.chat_template, gguf_export.plain_chat_template(tokenizer.chat_template))
    )  # fmt: skip
    assert plain == ours and "<tool_call>" in ours
