"""Greedy tool decisions of several adapters on the held-out tool items, through the server's
engine, scored as the evaluate stage scores them, per kind and seen / novel schemas.

    python bench/tool_decisions.py committed=models/adapters/style_tool other=../exp/models/adapters/style_tool
    python bench/tool_decisions.py --heldout ../exp/data/heldout/tool.jsonl a=... b=...

The same answers as evaluate's tool half for these adapters (same engine, template, grammar,
decoding), without the style prompts, the base model or the classifier: minutes instead of
evaluate's quarter hour, for comparing a training candidate (another worktree's adapter)
with the committed one on the same items. Writes bench/results/tool_decisions.json (the
rates as metrics/eval.json gives them, twainlora.eval.decisions.decision_metrics) and
tool_decisions.jsonl (every reply with its scores).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import yaml

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.eval import answers, decisions
from twainlora.eval.prompts import prompt_sets
from twainlora.serve.settings import ServeParams

ROOT = Path(__file__).resolve().parents[1]
KINDS = "call_explicit,call_relative,missing_place,missing_date,unrelated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapters", nargs="+", help="name=path of a PEFT adapter folder")
    parser.add_argument("--heldout", type=Path, default=ROOT / "data/heldout/tool.jsonl")
    parser.add_argument("--kinds", default=KINDS)
    parser.add_argument("--max-tokens", type=int, default=None, help="evaluate's by default")
    args = parser.parse_args()
    if args.max_tokens is None:
        args.max_tokens = yaml.safe_load((ROOT / "params.yaml").read_text())["evaluate"][
            "max_new_tokens"
        ]["tool"]
    adapters = {}
    for spec in args.adapters:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path, "adapter_config.json").exists():
            parser.error(f"{spec!r}: expected name=path of a PEFT adapter folder")
        adapters[name] = Path(path)
    kinds = args.kinds.split(",")
    tool = prompt_sets([], read_jsonl(args.heldout), None)["tool"]
    items = [i for i in tool if i.kind in kinds]
    served = load_params("serve", ServeParams, ROOT / "params.yaml")
    engine = answers.load_engine(ROOT / "models/base", adapters, served.engine)
    decoding = answers.Decoding.served(served)
    texts, stats = answers.answer_all(
        engine, list(adapters), {"tool": items}, {"tool": args.max_tokens}, decoding
    )
    scored = [i.decision() for i in items]
    rates = {name: decisions.decision_metrics(scored, texts[name]["tool"]) for name in adapters}
    write_jsonl(
        ROOT / "bench/results/tool_decisions.jsonl",
        (
            {"model": name, "id": item.id, "reply": text,
             "scores": decisions.score_decision(decision, text)}
            for name in adapters
            for item, decision, text in zip(items, scored, texts[name]["tool"], strict=True)
        ),
    )  # fmt: skip
    for rate in decisions.RATES:
        by_model = {n: rates[n][rate] for n in adapters if rates[n][rate]["n"]}
        if by_model:
            cells = "  ".join(
                f"{n} {r['rate']:.2f} (seen {r['seen']}, novel {r['novel']})"
                for n, r in by_model.items()
            )
            print(f"{rate:>30}: {cells}  (n {next(iter(by_model.values()))['n']})")
    write_json(
        ROOT / "bench/results/tool_decisions.json",
        {
            "heldout": str(args.heldout),
            "adapters": {n: str(p) for n, p in adapters.items()},
            "rates": rates,
            **stats.summary(),
            "seconds": round(stats.seconds),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
