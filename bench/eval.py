"""Generation throughput of the evaluate stage: batched vs one prompt at a time.

    python bench/eval.py [--prompts 16] [--max-new-tokens 32] [--adapter style_tool]

Loads models/base with the adapter as the stage does (twainlora/serve/inference.py), takes the
first tool-call turns of data/splits/eval_tool.jsonl (prompts of ~250 tokens: system, tool
schemas, request), and generates greedily with the adapter, first one prompt at a time, then
in one batch. Prints generated tokens/s for each and writes bench/results/eval.json, with the
load average: on this shared 2-core machine a neighbour's job changes the numbers severalfold.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.eval import evaluation, inference

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--adapter", default="style_tool", choices=["style", "style_tool"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    inference.configure_threads(args.threads)
    records = read_jsonl(ROOT / "data/splits/eval_tool.jsonl")
    points = [p for r in records for p in evaluation.tool_points(r) if p.kind == "call"]
    conversations = [inference.Conversation(p.messages, p.tools) for p in points[: args.prompts]]
    model, tokenizer = inference.load(
        ROOT / "models/base", {args.adapter: ROOT / "models/adapters" / args.adapter}
    )

    results = {}
    for mode, batch_size in (("one_at_a_time", 1), ("batched", len(conversations))):
        stats = inference.GenerationStats()
        inference.generate(
            model,
            tokenizer,
            conversations,
            args.adapter,
            batch_size,
            args.max_new_tokens,
            stats,
        )
        results[mode] = {
            "batch_size": batch_size,
            "prompts": stats.prompts,
            "prompt_tokens": stats.prompt_tokens,
            "new_tokens": stats.new_tokens,
            "seconds": round(stats.seconds, 1),
            "tokens_per_s": round(stats.tokens_per_s, 1),
        }
        print(
            f"{mode:14s} batch {batch_size:3d}: {stats.new_tokens:5d} new tokens "
            f"in {stats.seconds:6.1f} s = {stats.tokens_per_s:6.1f} tokens/s"
        )
    speedup = results["batched"]["tokens_per_s"] / max(
        results["one_at_a_time"]["tokens_per_s"], 1e-9
    )
    print(f"batched / one at a time: {speedup:.1f}x")
    write_json(
        ROOT / "bench/results/eval.json",
        {
            **results,
            "speedup": round(speedup, 2),
            "adapter": args.adapter,
            "max_new_tokens": args.max_new_tokens,
            "threads": args.threads,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
