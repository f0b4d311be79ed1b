"""Merge an adapter into the base model and save a standalone model, for servers and tools
that do not load LoRA adapters; write GGUF files for llama.cpp and Ollama.

    python stages/export.py

PEFT's merge_and_unload folds the LoRA deltas into the base weights. Before anything is
written the stage checks the merge: on params.yaml `export.prompts`, greedy generation with
the merged model must equal generation with base + adapter token for token; it fails
otherwise. Then the GGUF files (twainlora/train/gguf_export.py), each checked: the bf16 file,
read back, must decode the merged model's greedy tokens (Q8_0's matches are reported), and
each LoRA GGUF must hold exactly its adapter's tensors. Writes:
  models/merged/<adapter>/          config, model.safetensors, tokenizer, chat template
  models/gguf/base.bf16.gguf        the base model, for llama.cpp's --lora / Ollama's ADAPTER
  models/gguf/<adapter>.<q>.gguf    the merged model, per export.gguf_quants
  models/gguf/<name>.lora.gguf      every adapter under models/adapters as a llama.cpp LoRA
  metrics/export.json               prompts checked, greedy matches, max logit difference
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json
from twainlora.core.params import load_params
from twainlora.train import gguf_export

log = logging.getLogger("export")

BASE = Path("models/base")
ADAPTERS = Path("models/adapters")
MERGED = Path("models/merged")
GGUF = Path("models/gguf")
METRICS = Path("metrics/export.json")


@dataclass(frozen=True)
class Params:
    adapter: str  # a folder under models/adapters/
    prompts: list[str]  # user turns the merged model must answer exactly as base + adapter
    max_new_tokens: int
    gguf_quants: list[str]  # of the merged model: bf16 (checked), q8_0
    threads: int

    def __post_init__(self):
        if "bf16" not in self.gguf_quants or set(self.gguf_quants) - set(gguf_export.QUANTS):
            raise ValueError(f"gguf_quants: bf16 and any of {gguf_export.QUANTS}")


def write_gguf(params: Params, tokenizer, merged, merged_dir: Path) -> dict:
    """The GGUF files and their checks (raises SystemExit when one fails)."""
    from twainlora.core.tokens import smollm2_gguf_path

    source = json.loads((BASE / "twainlora.json").read_text("utf-8"))["params"]["source"]
    if source != "smollm2-gguf":
        log.warning("base model %s did not come from a GGUF: use llama.cpp's converter", source)
        return {"skipped": f"base model {source} has no source GGUF (convert_hf_to_gguf.py)"}
    config = json.loads((BASE / "config.json").read_text("utf-8"))
    report: dict = {"merged": {}, "lora_round_trip": {}}
    gguf_export.write_model(
        BASE, smollm2_gguf_path(), GGUF / "base.bf16.gguf", "bf16", tokenizer.chat_template
    )
    check_on = (params.prompts, params.max_new_tokens)
    rounded = gguf_export.rounded_to_bf16(merged)
    for quant in params.gguf_quants:
        path = GGUF / f"{params.adapter}.{quant}.gguf"
        gguf_export.write_model(
            merged_dir, smollm2_gguf_path(), path, quant, tokenizer.chat_template
        )
        loaded = gguf_export.load_back(path)
        matches = gguf_export.greedy_matches(loaded, merged, tokenizer, *check_on)
        report["merged"][quant] = {"greedy_matches": matches, "mb": path.stat().st_size >> 20}
        # The file must hold exactly the bf16-rounded merged model: a wrong name, layout or
        # permutation changes the tokens; rounding alone may flip a near tie, so the check
        # compares with the rounded model and the float32 comparison is reported.
        if quant == "bf16" and gguf_export.greedy_matches(
            loaded, rounded, tokenizer, *check_on
        ) < len(params.prompts):
            raise SystemExit(f"export: {path} decodes otherwise than the merged model in bf16")
    for adapter in sorted(p for p in ADAPTERS.iterdir() if (p / "adapter_config.json").exists()):
        path = GGUF / f"{adapter.name}.lora.gguf"
        gguf_export.write_lora(adapter, config, path)
        if not gguf_export.lora_round_trips(adapter, path, config):
            raise SystemExit(f"export: {path} does not hold {adapter}'s tensors")
        report["lora_round_trip"][adapter.name] = True
    return report


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
    gguf = write_gguf(params, tokenizer, merged, out)
    write_json(
        METRICS,
        {
            "adapter": params.adapter,
            "prompts": check.prompts,
            "greedy_matches": check.greedy_matches,
            # rounded to its order of magnitude: float noise must not make the metric flap
            "max_logit_diff": float(f"{check.max_logit_diff:.0e}"),
            "gguf": gguf,
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
