"""Merge an adapter into the base model and save a standalone model, for servers and tools
that do not load LoRA adapters.

    python stages/export.py

PEFT's merge_and_unload folds the LoRA deltas into the base weights. Before anything is
written the stage checks the merge: on params.yaml `export.prompts`, greedy generation with
the merged model must equal generation with base + adapter token for token; it fails
otherwise. Writes:
  models/merged/<adapter>/     config, model.safetensors, tokenizer, chat template
  metrics/export.json          prompts checked, greedy matches, max logit difference
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json
from twainlora.core.params import load_params

log = logging.getLogger("export")

BASE = Path("models/base")
ADAPTERS = Path("models/adapters")
MERGED = Path("models/merged")
METRICS = Path("metrics/export.json")


@dataclass(frozen=True)
class Params:
    adapter: str  # a folder under models/adapters/
    prompts: list[str]  # user turns the merged model must answer exactly as base + adapter
    max_new_tokens: int
    threads: int


def greedy(model, tokenizer, prompt: str, max_new_tokens: int):
    """(new token ids, first-step logits) of greedy decoding after the chat template."""
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
    )["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1]
        out = model.generate(
            input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=None
        )
    return out[0, ids.shape[1] :].tolist(), logits


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("export", Params)
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(params.threads)
    adapter = ADAPTERS / params.adapter
    if not (adapter / "adapter_config.json").exists():
        raise SystemExit(f"export: {adapter} is not an adapter folder (no adapter_config.json)")
    tokenizer = AutoTokenizer.from_pretrained(BASE)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(BASE), adapter).eval()
    before = [greedy(model, tokenizer, p, params.max_new_tokens) for p in params.prompts]
    merged = model.merge_and_unload().eval()
    after = [greedy(merged, tokenizer, p, params.max_new_tokens) for p in params.prompts]

    matches = sum(a[0] == b[0] for a, b in zip(before, after, strict=True))
    max_diff = max(float((a[1] - b[1]).abs().max()) for a, b in zip(before, after, strict=True))
    if matches != len(params.prompts):
        raise SystemExit(
            f"export: the merged model's greedy output differs from base + {adapter} on "
            f"{len(params.prompts) - matches} of {len(params.prompts)} prompts "
            f"(max first-token logit difference {max_diff:.2e}); nothing written"
        )

    out = MERGED / params.adapter
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    write_json(
        METRICS,
        {
            "adapter": params.adapter,
            "prompts": len(params.prompts),
            "greedy_matches": matches,
            # rounded to its order of magnitude: float noise must not make the metric flap
            "max_logit_diff": float(f"{max_diff:.0e}"),
            "params": asdict(params),
        },
    )
    log.info("merged %s into %s: %d/%d greedy matches", adapter, out, matches, len(params.prompts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
