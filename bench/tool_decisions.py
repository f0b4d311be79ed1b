"""Greedy tool decisions of several adapters on the held-out tool items, through the server's
engine, scored as the evaluate stage scores them, per kind and seen / novel schemas.

    python bench/tool_decisions.py committed=models/adapters/style_tool other=../exp/models/adapters/style_tool
    python bench/tool_decisions.py --heldout ../exp/data/heldout/tool.jsonl a=... b=...

The same answers as evaluate's tool half for these adapters (same engine, template, grammar,
decoding), without the style prompts, the base model or the classifier: minutes instead of
evaluate's quarter hour, for comparing a training candidate (another worktree's adapter)
with the committed one on the same items. Writes bench/results/tool_decisions.json (rates)
and tool_decisions.jsonl (every reply with its scores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import defaultdict
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.eval import answers, decisions
from twainlora.eval.prompts import Item
from twainlora.serve.settings import ServeParams

ROOT = Path(__file__).resolve().parents[1]
KINDS = "call_explicit,call_relative,missing_place,missing_date,unrelated"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapters", nargs="+", help="name=path of a PEFT adapter folder")
    parser.add_argument("--heldout", type=Path, default=ROOT / "data/heldout/tool.jsonl")
    parser.add_argument("--kinds", default=KINDS)
    parser.add_argument("--max-tokens", type=int, default=48)  # evaluate.max_new_tokens.tool
    args = parser.parse_args()
    adapters = {}
    for spec in args.adapters:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path, "adapter_config.json").exists():
            parser.error(f"{spec!r}: expected name=path of a PEFT adapter folder")
        adapters[name] = Path(path)
    kinds = args.kinds.split(",")
    rows = [r for r in read_jsonl(args.heldout) if r["kind"] in kinds]
    items = [
        Item(
            id=r["id"],
            kind=r["kind"],
            messages=tuple(r["messages"]),
            tools=tuple(r["tools"]),
            novel=r.get("novel", False),
            expect=r["expect"],
        )
        for r in rows
    ]
    served = load_params("serve", ServeParams, ROOT / "params.yaml")
    engine = answers.load_engine(ROOT / "models/base", adapters, served.engine)
    decoding = answers.Decoding(
        served.parallel_tool_calls, served.frequency_penalty, served.presence_penalty
    )
    texts, stats = answers.answer_all(
        engine, list(adapters), {"tool": items}, {"tool": args.max_tokens}, decoding
    )
    rates = {}
    with open(ROOT / "bench/results/tool_decisions.jsonl", "w", encoding="utf-8") as out:
        for name in adapters:
            outcomes: dict[str, list[bool]] = defaultdict(list)
            for row, text in zip(rows, texts[name]["tool"], strict=True):
                scores = decisions.score_decision(row, text)
                for rate, ok in scores.items():
                    outcomes[rate].append(ok)
                    outcomes[f"{rate}/{'novel' if row.get('novel') else 'seen'}"].append(ok)
                line = {"model": name, "id": row["id"], "reply": text, "scores": scores}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            rates[name] = {
                rate: {"rate": round(sum(v) / len(v), 3), "n": len(v)}
                for rate, v in sorted(outcomes.items())
            }
    for rate in sorted({r for by_rate in rates.values() for r in by_rate}):
        cells = (f"{n} {rates[n][rate]['rate']:.2f}" for n in adapters if rate in rates[n])
        print(f"{rate:>40}: " + "  ".join(cells) + f"  (n {next(iter(rates.values()))[rate]['n']})")
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
