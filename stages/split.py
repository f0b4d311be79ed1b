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
import random
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.dedupe import MinHashParams
from twainlora.sft.splitting import ToolOffer, assign, remove_leaks, stratum, with_tools

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


@dataclass(frozen=True)
class Params:
    holdout: float
    seed: int
    # Style examples mixed into train_tool per tool episode, so the style_tool run keeps the
    # voice while it learns the tool.
    tool_style_mix: float
    mix_with_tools: float  # share of that style mix that offers the tools anyway (no call)
    eval_irrelevant_from_style: int  # eval_style examples offered to eval_tool with tools
    offered_tools: ToolOffer  # the tools those style examples are offered
    leakage: MinHashParams

    def __post_init__(self):
        if not 0.0 < self.holdout < 0.5:
            raise ValueError("holdout must be within (0, 0.5)")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("split", Params)
    records = list(read_jsonl(INSTRUCT)) + list(read_jsonl(SYNTH)) + list(read_jsonl(TOOL))
    is_eval = assign(records, params.holdout, params.seed)
    is_eval, moved = remove_leaks(records, is_eval, params.leakage)
    is_tool = [r["tags"]["template"].startswith("tool_") for r in records]
    files = {name: [] for name in OUT}
    for record, ev, tool in zip(records, is_eval, is_tool, strict=True):
        files[("eval_" if ev else "train_") + ("tool" if tool else "style")].append(record)
    # The style mix for train_tool: a seeded, template-proportional slice of train_style,
    # part of it with the tools on offer (an unrelated request: answer, do not call), and the
    # same for eval_tool from eval_style, so "no call" is measured on held-out variety.
    rng = random.Random(params.seed)
    n_mix = min(len(files["train_style"]), round(params.tool_style_mix * len(files["train_tool"])))
    mix = rng.sample(files["train_style"], n_mix)
    mix = [
        with_tools(r, random.Random(f"{params.seed}:{r['id']}"), params.offered_tools)
        if rng.random() < params.mix_with_tools
        else r
        for r in mix
    ]
    files["train_tool"] = sorted(files["train_tool"] + mix, key=lambda r: r["id"])
    n_eval = min(len(files["eval_style"]), params.eval_irrelevant_from_style)
    eval_extra = [
        with_tools(r, random.Random(f"{params.seed}:{r['id']}"), params.offered_tools)
        for r in rng.sample(files["eval_style"], n_eval)
    ]
    files["eval_tool"] = sorted(files["eval_tool"] + eval_extra, key=lambda r: r["id"])
    for name, rows in files.items():
        write_jsonl(OUT[name], rows)
    metrics = {
        name: {
            "records": len(rows),
            "by_category": dict(sorted(Counter(stratum(r).split("/")[0] for r in rows).items())),
        }
        for name, rows in files.items()
    }
    metrics["moved_for_leakage"] = moved
    metrics["style_mix_in_train_tool"] = n_mix
    metrics["eval_irrelevant_from_style"] = n_eval
    write_json(METRICS, metrics)
    log.info("%s; %d moved to train for leakage", {k: len(v) for k, v in files.items()}, moved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
