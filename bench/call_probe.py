"""The call decision without decoding: how likely each model is to open a tool call as the
first token of its reply, per kind of held-out tool item.

    python bench/call_probe.py [--models base,style_tool] [--kinds call_explicit,unrelated,...]
    python bench/call_probe.py --trained      # style_tool's own cpu-profile training sample

One forward pass per item (data/heldout/tool.jsonl, rendered by the server's chat template
with the item's tools) through models/base and each adapter of models/adapters: the
probability of the first token of `<tool_call>` at the reply's first position, and whether it
is the most likely token (what greedy decoding picks). Items that should be answered with a
call (call_explicit, call_relative) should score high, the others low; a model that scores
every kind alike has learned the share of calls in its data, not when to call. Seconds per
model, where the evaluate stage takes tens of minutes: for comparing training candidates.
With --trained it probes the examples the train stage sampled from data/splits/train_tool.jsonl
(train.profile) instead, per case, at their first user turn: a decision not learned there
is underfitting, not a failure to generalize. Writes bench/results/call_probe.json (or
call_probe_trained.json).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import defaultdict
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.core.toolcalls import OPEN

ROOT = Path(__file__).resolve().parents[1]
KINDS = "call_explicit,call_relative,missing_date,missing_place,unrelated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="base,style_tool")
    parser.add_argument("--kinds", default=KINDS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trained", action="store_true", help="probe the training sample")
    args = parser.parse_args()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    if args.trained:
        items = trained_items()
    else:
        kinds = args.kinds.split(",")
        items = [r for r in read_jsonl(ROOT / "data/heldout/tool.jsonl") if r["kind"] in kinds]
    tokenizer = AutoTokenizer.from_pretrained(ROOT / "models/base")
    call_token = tokenizer.encode(OPEN, add_special_tokens=False)[0]
    prompts = [
        tokenizer.apply_chat_template(
            r["messages"], tools=r["tools"], add_generation_prompt=True, return_tensors="pt"
        )
        for r in items
    ]
    rows = {}
    for model_name in args.models.split(","):
        model = AutoModelForCausalLM.from_pretrained(ROOT / "models/base", dtype=torch.float32)
        if model_name != "base":
            model = PeftModel.from_pretrained(model, ROOT / "models/adapters" / model_name)
        model.eval()
        by_kind: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        with torch.inference_mode():
            for item, ids in zip(items, prompts, strict=True):
                ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
                logits = model(input_ids=ids).logits[0, -1]
                p = torch.softmax(logits.float(), dim=-1)
                by_kind[item["kind"]].append((float(p[call_token]), int(p.argmax()) == call_token))
        rows[model_name] = {
            kind: {
                "n": len(v),
                "mean_p_call": round(sum(p for p, _ in v) / len(v), 3),
                "greedy_calls": round(sum(a for _, a in v) / len(v), 3),
            }
            for kind, v in sorted(by_kind.items())
        }
        for kind, r in rows[model_name].items():
            print(
                f"{model_name:>10} {kind:>14}: p(call) {r['mean_p_call']:.2f}, "
                f"greedy calls {r['greedy_calls']:.2f} (n {r['n']})"
            )
    write_json(
        ROOT / f"bench/results/call_probe{'_trained' if args.trained else ''}.json",
        {
            "models": rows,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        },
    )
    return 0


def trained_items() -> list[dict]:
    """The cpu-profile training sample of train_tool (as the train stage draws it) that offers
    tools, each cut after its first user turn, with its case as the kind."""
    from twainlora.core.params import load_params
    from twainlora.train.training import TrainParams, sample_stratified

    params = load_params("train", TrainParams, ROOT / "params.yaml")
    n = params.profiles[params.profile].max_train_examples
    rows = sample_stratified(
        list(read_jsonl(ROOT / "data/splits/train_tool.jsonl")), n, params.seed
    )
    items = []
    for r in rows:
        if not r.get("tools"):
            continue
        first = next(i for i, m in enumerate(r["messages"]) if m["role"] == "user")
        kind = r["tags"].get("case", r["tags"]["template"])
        items.append({"kind": kind, "messages": r["messages"][: first + 1], "tools": r["tools"]})
    return items


if __name__ == "__main__":
    sys.exit(main())
