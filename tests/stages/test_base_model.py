"""The base model stage on the real SmolLM2 GGUF, and the chat template on a real episode."""

import json

import pytest

from conftest import run_stage, shipped_params, write_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(base_model_dir):
    return base_model_dir


@pytest.fixture(scope="module")
def tokenizer(base):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base)


EPISODE = {
    "messages": [
        {
            "role": "system",
            "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] Be Twain. Today is 2026-07-03.",
        },
        {"role": "user", "content": "Weather in Hannibal tomorrow?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "arguments": '{"location": "Hannibal", "date": "2026-07-04"}',
                    },
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": '{"location": "Hannibal, Missouri, United States", "temperature_c": 29, "condition": "Sunny"}',
        },
        {
            "role": "assistant",
            "content": "Hannibal tomorrow: sunny, 29°C. A fine day for doing nothing.",
        },
    ],
}


def test_saved_folder_has_what_later_stages_load(base):
    names = {p.name for p in base.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
        "generation_config.json",
        "twainlora.json",
    } <= names
    meta = json.loads((base / "twainlora.json").read_text())
    assert meta["params"]["source"] == "smollm2-gguf" and len(meta["source_sha256"]) == 64
    assert meta["versions"]["transformers"] != "not installed"


def test_template_renders_tools_calls_and_results_and_masks_only_the_assistant(tokenizer):
    from twainlora.domain.weather import GET_WEATHER_TOOL

    text = tokenizer.apply_chat_template(
        EPISODE["messages"], tools=[GET_WEATHER_TOOL], tokenize=False
    )
    assert (
        '<tools>\n{"name": "get_weather", "description": "Get the weather for a location on a given date."'
        in text
    )
    assert (
        '<tool_call>{"name": "get_weather", "arguments": {"location": "Hannibal", "date": "2026-07-04"}}</tool_call><|im_end|>'
        in text
    )
    assert '<|im_start|>tool\n<tool_response>{"location": "Hannibal, Missouri' in text
    out = tokenizer.apply_chat_template(
        EPISODE["messages"],
        tools=[GET_WEATHER_TOOL],
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = out["input_ids"], out["assistant_masks"]
    masked = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert masked == (
        '<tool_call>{"name": "get_weather", "arguments": {"location": "Hannibal", "date": "2026-07-04"}}</tool_call><|im_end|>'
        "Hannibal tomorrow: sunny, 29°C. A fine day for doing nothing.<|im_end|>"
    )
    # nothing of the system, user or tool turns is trained on
    unmasked = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if not m])
    assert "tool_response" in unmasked and "Weather in Hannibal" in unmasked
    assert '"arguments": {"location": "Hannibal"' not in unmasked


def test_generation_prompt_and_plain_chat(tokenizer):
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_reloads_with_the_same_logits_and_stops_at_the_turn_end(base, tokenizer):
    import torch
    from transformers import AutoModelForCausalLM

    from twainlora.train.models import load_source

    saved = AutoModelForCausalLM.from_pretrained(base)
    original, _ = load_source("smollm2-gguf")
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Say hello in three words."}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        assert torch.equal(saved(**prompt).logits, original(**prompt).logits)
        out = saved.generate(**prompt, max_new_tokens=48, do_sample=False)
    new = out[0, prompt["input_ids"].shape[1] :].tolist()
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert saved.generation_config.eos_token_id == end
    assert new[-1] == end and end not in new[:-1]  # stopped at the turn end, not the length


def test_an_unknown_template_fails_before_loading(tmp_path):
    write_params(
        tmp_path, base_model={**shipped_params()["base_model"], "chat_template": "nope.jinja"}
    )
    proc = run_stage("base_model", tmp_path, check=False)
    assert (
        proc.returncode != 0
        and "no chat template" in proc.stderr
        and "chatml_tools.jinja" in proc.stderr
    )
    assert not (tmp_path / "models").exists()
