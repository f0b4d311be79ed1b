"""Split the SFT records into train and eval, stratified and without leakage.

    python stages/split.py

Reads data/sft/instruct.jsonl, data/sft/synth.jsonl and data/sft/tool_episodes.jsonl. `split.holdout` of every
category (template, or tool case, by persona) goes to eval by whole groups (one passage,
one headline), then eval records that are near-duplicates of train records move to train
(twainlora/sft/splitting.py). The tool training file mixes in style examples for the second
training run. Writes:
  data/splits/train_style.jsonl  data/splits/eval_style.jsonl
  data/splits/train_tool.jsonl   data/splits/eval_tool.jsonl
  metrics/split.json             records per file and category, moved for leakage
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.dedupe import MinHashParams
from twainlora.sft import splitting
from twainlora.sft.episodes.tools import ToolOffer

log = logging.getLogger("split")

INSTRUCT = Path("data/sft/instruct.jsonl")
SYNTH = Path("data/sft/synth.jsonl")
TOOL = Path("data/sft/tool_episodes.jsonl")
OUT = {
    "train_style": Path("data/splits/train_style.jsonl"),
    "eval_style": Path("data/splits/eval_style.jsonl"),
    "train_tool": Path("data/splits/train_tool.jsonl"),
    "eval_tool": Path("data/splits/eval_tool.jsonl"),
}
METRICS = Path("metrics/split.json")


Params = splitting.SplitParams


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("split", Params)
    near_duplicate = load_params("near_duplicate", MinHashParams)
    offer = load_params("tool_offer", ToolOffer)
    records = list(read_jsonl(INSTRUCT)) + list(read_jsonl(SYNTH)) + list(read_jsonl(TOOL))
    is_eval = splitting.assign(records, params.holdout, params.seed)
    is_eval, moved = splitting.remove_leaks(records, is_eval, near_duplicate)
    files = splitting.split_files(records, is_eval)
    n_mix, n_eval = splitting.mix_style_into_tool(files, params, offer)
    for name, rows in files.items():
        write_jsonl(OUT[name], rows)
    metrics = splitting.split_metrics(files)
    metrics["moved_for_leakage"] = moved
    metrics["style_mix_in_train_tool"] = n_mix
    metrics["eval_irrelevant_from_style"] = n_eval
    write_json(METRICS, metrics)
    log.info("%s; %d moved to train for leakage", {k: len(v) for k, v in files.items()}, moved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
