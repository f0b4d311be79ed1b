"""Generation throughput of the evaluate stage, which generates on the server's path.

    python bench/eval.py [--prompts 16] [--max-new-tokens 32] [--adapter style_tool]

Loads models/base with the adapter in the server's engine as the stage does
(twainlora/eval/answers.py), takes the first tool-call turns of data/splits/eval_tool.jsonl
(prompts of ~250 tokens: system, tool schemas, request) and answers them one at a time as the
stage and `twainlora serve` do (tool_choice auto under the tool grammar, greedy). Prints
generated tokens/s and how many replies came back as tool calls, and writes
bench/results/eval.json with the load average: on this shared 2-core machine a neighbour's job
changes the numbers severalfold.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.eval import answers
from twainlora.eval.prompts import Item
from twainlora.eval.tools import tool_points

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--adapter", default="style_tool", choices=["style", "style_tool"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    records = read_jsonl(ROOT / "data/splits/eval_tool.jsonl")
    points = [p for r in records for p in tool_points(r) if p.kind == "call"]
    items = [Item(p.id, p.kind, p.record_id, p.messages, p.tools) for p in points[: args.prompts]]
    engine = answers.load_engine(
        ROOT / "models/base",
        {args.adapter: ROOT / "models/adapters" / args.adapter},
        "float32",
        args.threads,
        context_length=2048,
    )
    decoding = answers.Decoding(parallel_tool_calls=False)
    stats = answers.Stats()
    calls = 0
    for item in items:
        start = time.perf_counter()
        reply = answers.answer(engine, args.adapter, item, args.max_new_tokens, decoding)
        stats.add(reply, time.perf_counter() - start)
        calls += bool(reply.tool_calls)
    print(
        f"{stats.prompts} prompts: {stats.new_tokens} new tokens in {stats.seconds:.1f} s = "
        f"{stats.tokens_per_s:.1f} tokens/s; {calls} replies with a tool call"
    )
    write_json(
        ROOT / "bench/results/eval.json",
        {
            "prompts": stats.prompts,
            "prompt_tokens": stats.prompt_tokens,
            "new_tokens": stats.new_tokens,
            "seconds": round(stats.seconds, 1),
            "tokens_per_s": round(stats.tokens_per_s, 1),
            "replies_with_tool_calls": calls,
            "decoding": decoding.describe(),
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
