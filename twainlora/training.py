"""LoRA/QLoRA fine-tuning pieces: backend checks, example encoding with the assistant-only
mask, stratified sampling for the CPU profile, and the PEFT/bitsandbytes configs.

Examples are tokenized here with the base model's chat template (twainlora/templates) and
handed to TRL pre-tokenized, with the template's assistant mask as TRL's `completion_mask`:
TRL then trains on exactly the assistant tokens (tool calls included, tool results not),
with padding-free packing whose position_ids keep packed examples from attending to each
other. Tokenizing ourselves also keeps the varied tool schemas out of an Arrow table, where
their differing keys would be unified into null-filled structs.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

QLORA_ON_CPU = (
    "quantization: nf4 needs CUDA: bitsandbytes' 4-bit backward has no CPU autograd kernel, so "
    "training would run with silently wrong gradients (see ../shared/notes/cpu-lora-measurements.md). "
    "Set train.quantization: none to train LoRA in full precision here, or run on a GPU machine."
)


class TrainingConfigError(ValueError):
    pass


@dataclass(frozen=True)
class LoraParams:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


def check_backend(quantization: str, cuda_available: bool) -> None:
    """Refuse, before anything heavy loads, a setting this machine cannot train correctly."""
    if quantization not in ("none", "nf4"):
        raise TrainingConfigError(f"quantization must be 'none' or 'nf4', not {quantization!r}")
    if quantization == "nf4" and not cuda_available:
        raise TrainingConfigError(QLORA_ON_CPU)


def encode(tokenizer, record: dict, max_length: int) -> dict | None:
    """input_ids and completion_mask (1 on assistant tokens) for one conversation; None when
    it does not fit max_length (cutting it would train on a truncated answer)."""
    out = tokenizer.apply_chat_template(
        record["messages"],
        tools=record.get("tools") or None,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if len(ids) > max_length or not any(mask):
        return None
    return {"input_ids": ids, "completion_mask": mask}


def sample_stratified(records: Sequence[dict], n: int | None, seed: int) -> list[dict]:
    """n records keeping each template's (and tool case's) share; all of them when n is None."""
    if n is None or n >= len(records):
        return list(records)
    strata: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        strata[r["tags"].get("case", r["tags"]["template"])].append(r)

    def key(r):
        return hashlib.sha256(f"{seed}:{r['id']}".encode()).hexdigest()

    chosen = []
    for name in sorted(strata):
        group = sorted(strata[name], key=key)
        chosen += group[: max(1, round(n * len(group) / len(records)))]
    return sorted(sorted(chosen, key=key)[:n], key=lambda r: r["id"])


def lora_config(params: LoraParams):
    from peft import LoraConfig

    return LoraConfig(
        r=params.r,
        lora_alpha=params.alpha,
        lora_dropout=params.dropout,
        target_modules=list(params.target_modules),
        task_type="CAUSAL_LM",
    )


def nf4_config():
    """QLoRA's quantization: NF4 weights, double quantization, bf16 compute (CUDA only)."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
