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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("export", Params)
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from twainlora.train.merge import merge_and_check, save_merged

    torch.set_num_threads(params.threads)
    adapter = ADAPTERS / params.adapter
    if not (adapter / "adapter_config.json").exists():
        raise SystemExit(f"export: {adapter} is not an adapter folder (no adapter_config.json)")
    tokenizer = AutoTokenizer.from_pretrained(BASE)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(BASE), adapter).eval()
    merged, check = merge_and_check(model, tokenizer, params.prompts, params.max_new_tokens)
    if not check.ok:
        raise SystemExit(
            f"export: the merged model's greedy output differs from base + {adapter} on "
            f"{check.prompts - check.greedy_matches} of {check.prompts} prompts "
            f"(max first-token logit difference {check.max_logit_diff:.2e}); nothing written"
        )
    out = MERGED / params.adapter
    save_merged(merged, tokenizer, out)
    write_json(
        METRICS,
        {
            "adapter": params.adapter,
            "prompts": check.prompts,
            "greedy_matches": check.greedy_matches,
            # rounded to its order of magnitude: float noise must not make the metric flap
            "max_logit_diff": float(f"{check.max_logit_diff:.0e}"),
            "params": asdict(params),
        },
    )
    log.info(
        "merged %s into %s: %d/%d greedy matches",
        adapter,
        out,
        *(check.greedy_matches, check.prompts),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
