"""GGUF files for llama.cpp and Ollama: the merged model (bf16, Q8_0) and a LoRA adapter.

Written with the `gguf` package (llama.cpp's own gguf-py). The architecture and tokenizer
metadata come from the GGUF the base model was converted from (the embedded SmolLM2's), so
the vocabulary, merges, special tokens and pre-tokenizer are exactly llama.cpp's own; the
chat template is ours (tools, tool calls, tool turns), without the generation markers that
only training reads. Tensor names come from gguf-py's name map, and Q/K projections are
permuted back to GGML's rotary layout as llama.cpp's convert_hf_to_gguf.py does (transformers
undid that permutation when it loaded the GGUF).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

# Metadata that describes the file itself rather than the model: written anew.
_OWN_KEYS = {"general.file_type", "general.quantization_version", "tokenizer.chat_template"}
_OWN_KEYS |= {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count"}
QUANTS = ("bf16", "q8_0")


class GGUFExportError(ValueError):
    pass


def _gguf():
    import gguf

    return gguf


def rope_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """HF's rotary layout (halves) -> GGML's (interleaved pairs), for q/k projection rows."""
    return (
        weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def plain_chat_template(template: str) -> str:
    """The chat template without {% generation %} blocks (a transformers-only extension for
    assistant masks; llama.cpp's Jinja engine does not know the tag)."""
    return re.sub(r"{%-?\s*(end)?generation\s*-?%}", "", template)


def _name_map(config: dict):
    gguf = _gguf()
    if config.get("model_type") != "llama":
        raise GGUFExportError(
            f"GGUF export here handles Llama-architecture models, not {config.get('model_type')!r}"
            "; use llama.cpp's convert_hf_to_gguf.py for others"
        )
    return gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config["num_hidden_layers"])


def _gguf_name(name_map, hf_name: str) -> str:
    name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise GGUFExportError(f"no GGUF name for tensor {hf_name!r}")
    return name


def _heads(config: dict, hf_name: str) -> int | None:
    if "self_attn.q_proj" in hf_name:
        return config["num_attention_heads"]
    if "self_attn.k_proj" in hf_name:
        return config.get("num_key_value_heads") or config["num_attention_heads"]
    return None


def _copy_metadata(writer, source) -> None:
    gguf = _gguf()
    for key, field in source.fields.items():
        if key in _OWN_KEYS or key == "general.architecture":
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type)


def write_model(
    model_dir: Path, source_gguf: Path, out: Path, quant: str, chat_template: str
) -> None:
    """The HF model in `model_dir` (safetensors) as one GGUF file, `quant` bf16 or q8_0."""
    gguf = _gguf()
    from safetensors.numpy import load_file

    if quant not in QUANTS:
        raise GGUFExportError(f"quant must be one of {QUANTS}, not {quant!r}")
    config = json.loads((model_dir / "config.json").read_text("utf-8"))
    name_map = _name_map(config)
    source = gguf.GGUFReader(source_gguf)
    if source.fields["general.architecture"].contents() != "llama":
        raise GGUFExportError(f"{source_gguf} is not a Llama-architecture GGUF")
    tensors = load_file(model_dir / "model.safetensors")
    qtype = gguf.GGMLQuantizationType.BF16 if quant == "bf16" else gguf.GGMLQuantizationType.Q8_0
    file_type = (
        gguf.LlamaFileType.MOSTLY_BF16 if quant == "bf16" else gguf.LlamaFileType.MOSTLY_Q8_0
    )

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = gguf.GGUFWriter(tmp, "llama")
    _copy_metadata(writer, source)
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    writer.add_chat_template(plain_chat_template(chat_template))
    for hf_name in sorted(tensors):
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue  # llama.cpp reuses token_embd when output.weight is absent
        data = tensors[hf_name].astype(np.float32)
        if (heads := _heads(config, hf_name)) is not None:
            data = rope_permute(data, heads)
        # Norms and other 1-D tensors stay F32, as llama.cpp's converter keeps them.
        if data.ndim == 1:
            writer.add_tensor(_gguf_name(name_map, hf_name), data)
        else:
            packed = gguf.quants.quantize(data, qtype)
            writer.add_tensor(_gguf_name(name_map, hf_name), packed, raw_dtype=qtype)
    _finish(writer, tmp, out)


def write_lora(adapter_dir: Path, base_config: dict, out: Path) -> None:
    """A PEFT LoRA adapter as a llama.cpp LoRA GGUF (`--lora`, Ollama's ADAPTER): F32
    `blk.N.<tensor>.weight.lora_a/.lora_b` pairs and adapter.lora.alpha."""
    gguf = _gguf()
    from safetensors.numpy import load_file

    adapter_config = json.loads((adapter_dir / "adapter_config.json").read_text("utf-8"))
    if adapter_config.get("peft_type") != "LORA":
        raise GGUFExportError(f"{adapter_dir} is not a LoRA adapter")
    if adapter_config.get("use_dora") or adapter_config.get("use_rslora"):
        raise GGUFExportError("llama.cpp LoRA GGUF supports plain LoRA only (no DoRA/rsLoRA)")
    if adapter_config.get("rank_pattern") or adapter_config.get("alpha_pattern"):
        raise GGUFExportError("per-module ranks or alphas have no llama.cpp equivalent")
    name_map = _name_map(base_config)
    tensors = load_file(adapter_dir / "adapter_model.safetensors")
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        m = re.fullmatch(r"(?:base_model\.model\.)?(.+)\.lora_([AB])\.weight", key)
        if m is None:
            raise GGUFExportError(f"{adapter_dir}: unexpected tensor {key!r} (only lora_A/B)")
        pairs.setdefault(m.group(1), {})[m.group(2)] = value.astype(np.float32)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = gguf.GGUFWriter(tmp, "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(adapter_config["lora_alpha"]))
    for module in sorted(pairs):
        a, b = pairs[module]["A"], pairs[module]["B"]
        if (heads := _heads(base_config, module)) is not None:
            b = rope_permute(b, heads)  # B's rows are the projection's output rows
        name = _gguf_name(name_map, module + ".weight")
        writer.add_tensor(f"{name}.lora_a", a)
        writer.add_tensor(f"{name}.lora_b", b)
    _finish(writer, tmp, out)


def _finish(writer, tmp: Path, out: Path) -> None:
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_lora(path: Path, base_config: dict) -> dict[str, np.ndarray]:
    """A LoRA GGUF's tensors by PEFT-style name ('model.layers.0.self_attn.q_proj.lora_B'),
    with the rotary permutation undone: what write_lora wrote, for round-trip checks."""
    gguf = _gguf()
    name_map = _name_map(base_config)
    reverse = {}
    for layer in range(base_config["num_hidden_layers"]):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            hf = f"model.layers.{layer}.self_attn.{proj}"
            reverse[_gguf_name(name_map, hf + ".weight")] = hf
        for proj in ("gate_proj", "up_proj", "down_proj"):
            hf = f"model.layers.{layer}.mlp.{proj}"
            reverse[_gguf_name(name_map, hf + ".weight")] = hf
    out = {}
    for tensor in gguf.GGUFReader(path).tensors:
        name, _, part = tensor.name.rpartition(".lora_")
        module = reverse[name]
        data = np.array(tensor.data, dtype=np.float32).reshape(
            tuple(reversed([int(d) for d in tensor.shape]))
        )
        if part == "b" and (heads := _heads(base_config, module)) is not None:
            data = unpermute(data, heads)
        out[f"{module}.lora_{part.upper()}"] = data
    return out


def unpermute(weight: np.ndarray, n_head: int) -> np.ndarray:
    return (
        weight.reshape(n_head, weight.shape[0] // n_head // 2, 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def load_back(gguf_path: Path):
    """The GGUF as transformers' GGUF reader loads it (dequantized to float32)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the GGUF reader is chatty
    return AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    ).eval()


def rounded_to_bf16(model):
    """A copy of `model` whose weights hold exactly what a bf16 GGUF of it holds."""
    import copy

    import torch

    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for p in rounded.parameters():
            if p.ndim == 2:  # 1-D tensors (norms) stay F32 in the file
                p.copy_(p.to(torch.bfloat16).to(p.dtype))
    return rounded


def greedy_matches(model_a, model_b, tokenizer, prompts, max_new_tokens: int) -> int:
    """On how many prompts the two models decode the same greedy tokens."""
    from twainlora.train.merge import greedy

    return sum(
        greedy(model_a, tokenizer, p, max_new_tokens)[0]
        == greedy(model_b, tokenizer, p, max_new_tokens)[0]
        for p in prompts
    )


def lora_round_trips(adapter_dir: Path, gguf_path: Path, base_config: dict) -> bool:
    """Whether the LoRA GGUF holds exactly the adapter's tensors (rotary layout undone)."""
    from safetensors.numpy import load_file

    original = load_file(adapter_dir / "adapter_model.safetensors")
    back = read_lora(gguf_path, base_config)
    return len(back) == len(original) and all(
        np.array_equal(back[key.removeprefix("base_model.model.").removesuffix(".weight")], value)
        for key, value in original.items()
    )
