"""Generation throughput of the evaluate stage, which generates on the server's path.

    python bench/eval.py [--prompts 16] [--max-new-tokens 32] [--adapter style_tool] [--max-batch 32]

Loads models/base with the adapter in the server's engine as the stage does
(twainlora/eval/answers.py), takes the first held-out tool items that ask for a call
(data/heldout/tool.jsonl; prompts of ~300 tokens: system, tool schemas, request) as the stage
and `twainlora serve` do
(tool_choice auto under the tool grammar, greedy): first one at a time, then all queued at
once as the stage queues them (the engine batches them). Prints generated tokens/s of both,
their ratio, whether the replies are the same, and how many came back as tool calls; writes
bench/results/eval.json with the load average: on this shared 2-core machine a neighbour's
job changes the numbers severalfold, the ratio much less.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.eval import answers
from twainlora.eval.prompts import prompt_sets
from twainlora.serve.settings import ServeParams

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--adapter", default="style_tool", choices=["style", "style_tool"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-batch", type=int, default=32)
    args = parser.parse_args()

    tool = prompt_sets([], read_jsonl(ROOT / "data/heldout/tool.jsonl"), None)["tool"]
    items = [i for i in tool if i.kind == "call_explicit"][: args.prompts]
    config = load_params("serve", ServeParams, ROOT / "params.yaml").engine
    config = dataclasses.replace(config, threads=args.threads, max_batch=args.max_batch)
    engine = answers.load_engine(
        ROOT / "models/base", {args.adapter: ROOT / "models/adapters" / args.adapter}, config
    )
    decoding = answers.Decoding(parallel_tool_calls=False)
    groups = {"tool": items}
    budget = {"tool": args.max_new_tokens}
    start = time.perf_counter()
    alone = [answers.start(engine, args.adapter, item, args.max_new_tokens, decoding).reply()
             for item in items]  # fmt: skip
    alone_s = time.perf_counter() - start
    texts, stats = answers.answer_all(engine, [args.adapter], groups, budget, decoding)
    tokens = sum(r.finish.completion_tokens for r in alone)
    queued = texts[args.adapter]["tool"]
    same = sum(r.finish.text.strip() == t for r, t in zip(alone, queued, strict=True))
    calls = sum(bool(r.tool_calls) for r in alone)
    speedup = stats.tokens_per_s / (tokens / alone_s)
    print(
        f"{stats.prompts} prompts, {stats.new_tokens} new tokens: one at a time "
        f"{tokens / alone_s:.1f} tokens/s, queued at once {stats.tokens_per_s:.1f} tokens/s "
        f"({speedup:.2f}x); same replies {same}/{len(items)}; {calls} with a tool call"
    )
    write_json(
        ROOT / "bench/results/eval.json",
        {
            "prompts": stats.prompts,
            "prompt_tokens": stats.prompt_tokens,
            "new_tokens": stats.new_tokens,
            "one_at_a_time": {"seconds": round(alone_s, 1),
                              "tokens_per_s": round(tokens / alone_s, 1)},
            "queued_at_once": {"seconds": round(stats.seconds, 1),
                               "tokens_per_s": round(stats.tokens_per_s, 1)},
            "speedup": round(speedup, 2),
            "same_replies": f"{same}/{len(items)}",
            "replies_with_tool_calls": calls,
            "decoding": decoding.describe(),
            "adapter": args.adapter,
            "max_new_tokens": args.max_new_tokens,
            "max_batch": args.max_batch,
            "threads": args.threads,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        },
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
