"""Decode speed of the engine (twainlora/serve/engine.py), beside llama.cpp on the same weights.

    python bench/decode.py [--threads 2] [--tokens 64] [--llama-bench PATH]
                           [--matmul-dtype float32 --matmul-dtype bfloat16]

After `dvc repro` (models/base, models/adapters, models/gguf). In this process, the server's
engine with every adapter, greedy, no grammar:
  - single stream: one request at a time, tokens/s after its first token (decode only);
  - aggregate: 8 and 32 requests queued at once, base/style/style_tool mixed, all generated
    tokens over the wall time from the first request queued to the last finished;
  - time to first token for a ~300-token tool prompt (prefill + one token), alone.
Each --matmul-dtype (serve.engine.matmul_dtype: the weights' dtype; params.yaml's by default)
is measured in turn, so float32 and bfloat16 can be compared in one run.
Then llama.cpp's `llama-bench` (from PATH, --llama-bench, or $LLAMA_BENCH) on
models/gguf/base.bf16.gguf with the same threads: decode (tg) and prompt (pp) tokens/s, and
the ratio ours/llama.cpp (target: single stream >= 0.5x its decode). Both sides run here,
back to back: compare them, not figures from another machine or day. Without llama-bench
the llama.cpp half is skipped with a message. Writes bench/results/decode.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from twainlora.core.jsonl import write_json  # noqa: E402
from twainlora.domain.weather import GET_WEATHER_TOOL  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results/decode.json"
GGUF = ROOT / "models/gguf/base.bf16.gguf"
PROMPTS = [
    "Tell me about the Mississippi.",
    "What is a steamboat?",
    "Give me your opinion of the weather in Hannibal.",
    "Why do people go to Europe?",
    "What is the best way to tell a story?",
    "Describe a jumping frog.",
    "What do you think of newspapers?",
    "Give me some advice about money.",
]


def load_engine(threads: int, matmul_dtype: str | None):
    from twainlora.core.params import load_params
    from twainlora.serve.engine import Engine, adapter_dirs
    from twainlora.serve.settings import ServeParams

    params = load_params("serve", ServeParams, ROOT / "params.yaml")
    adapters = adapter_dirs(ROOT / params.adapters)
    config = dataclasses.replace(
        params.engine, threads=threads, matmul_dtype=matmul_dtype or params.engine.matmul_dtype
    )
    return Engine.load(ROOT / params.base, adapters, config), config


def timed(events) -> tuple[float, float, int]:
    """(seconds to the first text, seconds to the end, completion tokens) of one request's
    events, from now."""
    from twainlora.serve.engine import Finish

    start = time.perf_counter()
    first = None
    for event in events:
        if first is None:
            first = time.perf_counter() - start
        if isinstance(event, Finish):
            return first, time.perf_counter() - start, event.completion_tokens
    raise AssertionError("no Finish")


def single_stream(engine, sampling, model: str, repeats: int) -> dict:
    rates = []
    for i in range(repeats):
        ids = engine.render([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], None)
        first, total, tokens = timed(engine.generate(model, ids, sampling))
        if tokens > 1:
            rates.append((tokens - 1) / (total - first))
    return {"model": model, "requests": repeats, "decode_tokens_per_s": round(max(rates), 1),
            "median_tokens_per_s": round(statistics.median(rates), 1)}  # fmt: skip


def aggregate(engine, sampling, streams: int) -> dict:
    from twainlora.serve.assistant import last_event

    start = time.perf_counter()
    queued = []
    for i in range(streams):
        model = engine.model_ids[i % len(engine.model_ids)]
        ids = engine.render([{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], None)
        queued.append(engine.generate(model, ids, sampling))
    tokens = sum(last_event(events).completion_tokens for events in queued)
    seconds = time.perf_counter() - start
    return {"streams": streams, "models": list(engine.model_ids), "tokens": tokens,
            "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}  # fmt: skip


def time_to_first_token(engine, sampling) -> dict:
    """Prefill + one token of a tool prompt as the evaluate stage sends them: cold (its
    blocks not in the prefix cache), then warm (the same prompt again: all but its last
    partial block copied from the cache)."""
    messages = [
        {"role": "system", "content": "You are a helpful assistant with a weather tool. " * 6},
        {"role": "user", "content": "What will the weather be like in Hannibal, Missouri, "
                                    "on the first Saturday of next month? " * 2},
    ]  # fmt: skip
    ids = engine.render(messages, [GET_WEATHER_TOOL])
    one = type(sampling)(1, 0.0, 1.0, None)
    # Warm-up: the KV cache grows (doubling) to the longest sequence it has held; that
    # one-time copy is not a prefill's cost.
    timed(engine.generate("base", engine.render(messages * 3, [GET_WEATHER_TOOL]), one))
    cold = timed(engine.generate("style_tool", ids, one))[1]
    warm = min(timed(engine.generate("style_tool", ids, one))[1] for _ in range(3))
    return {"prompt_tokens": len(ids), "cold_s": round(cold, 3), "warm_s": round(warm, 3),
            "prefill_tokens_per_s": round(len(ids) / cold, 1)}  # fmt: skip


def llama_bench(path: str | None, threads: int, tokens: int, prompt_tokens: int) -> dict:
    binary = path or os.environ.get("LLAMA_BENCH") or shutil.which("llama-bench")
    if not binary:
        print("llama-bench not found (PATH, --llama-bench or $LLAMA_BENCH): skipping llama.cpp")
        return {"skipped": "llama-bench not found"}
    if not GGUF.exists():
        print(f"no {GGUF.relative_to(ROOT)}: run the export stage; skipping llama.cpp")
        return {"skipped": f"no {GGUF.relative_to(ROOT)}"}
    command = [binary, "-m", str(GGUF), "-t", str(threads), "-p", str(prompt_tokens)]
    command += ["-n", str(tokens), "-r", "3", "-o", "json"]
    # Not our OMP_WAIT_POLICY=PASSIVE: llama.cpp's OpenMP threads sleeping between its many
    # small ops ran its decode at a third of its speed.
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    rows = json.loads(out)
    decode = next(r for r in rows if r["n_gen"] > 0)
    prompt = next(r for r in rows if r["n_prompt"] > 0)
    return {
        "binary": binary,
        "model": str(GGUF.relative_to(ROOT)),
        "build": decode.get("build_commit"),
        "decode_tokens_per_s": round(decode["avg_ts"], 1),
        "prompt_tokens_per_s": round(prompt["avg_ts"], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per request")
    parser.add_argument("--llama-bench", help="path of llama.cpp's llama-bench")
    parser.add_argument("--matmul-dtype", action="append", choices=("float32", "bfloat16"))
    args = parser.parse_args()
    if not (ROOT / "models/base/config.json").exists():
        raise SystemExit("no models/base: run `dvc repro` first")
    import torch

    from twainlora.serve.engine import Sampling

    llama = llama_bench(args.llama_bench, args.threads, args.tokens, prompt_tokens=300)
    # Greedy; a reply may end before the budget (end of turn): rates count what was generated.
    sampling = Sampling(args.tokens, 0.0, 1.0, None)
    ours = [measure(args.threads, dtype, sampling) for dtype in args.matmul_dtype or [None]]
    result = {
        "machine": {
            "platform": platform.platform(),
            "processor": cpu_model(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "threads": args.threads,
        "adapters": adapter_shapes(),
        "tokens_per_request": args.tokens,
        "ours": ours,
        "llama_cpp": llama,
    }
    if "decode_tokens_per_s" in llama:
        for run in ours:
            single = run["single_stream"][1]["decode_tokens_per_s"]
            run["single_stream_vs_llama_cpp"] = round(single / llama["decode_tokens_per_s"], 2)
        result["target_single_stream_vs_llama_cpp"] = 0.5
    write_json(RESULTS, result)
    for run in ours:
        print(f"matmul dtype {run['matmul_dtype']}:")
        for row in run["single_stream"]:
            print(f"  single stream {row['model']}: {row['decode_tokens_per_s']} tokens/s")
        for row in run["aggregate"]:
            print(f"  {row['streams']} streams: {row['tokens_per_s']} tokens/s "
                  f"({row['vs_single_stream']}x single)")  # fmt: skip
        ttft = run["time_to_first_token"]
        print(f"  time to first token, {ttft['prompt_tokens']}-token tool prompt: "
              f"{ttft['cold_s']} s cold, {ttft['warm_s']} s from the prefix cache")  # fmt: skip
        if "single_stream_vs_llama_cpp" in run:
            print(
                f"  single stream ours/llama.cpp {run['single_stream_vs_llama_cpp']} "
                "(target >= 0.5)"
            )
    if "decode_tokens_per_s" in llama:
        print(f"llama.cpp bf16: decode {llama['decode_tokens_per_s']} tokens/s, prompt "
              f"{llama['prompt_tokens_per_s']} tokens/s")  # fmt: skip
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def measure(threads: int, matmul_dtype: str | None, sampling) -> dict:
    """Our engine's figures with its weights in matmul_dtype (None: the params')."""
    from twainlora.serve.engine import matmul_dtype_for

    engine, config = load_engine(threads, matmul_dtype)
    timed(engine.generate("base", engine.render([{"role": "user", "content": "Hi"}], None),
                          sampling))  # warm-up  # fmt: skip
    run = {
        "matmul_dtype": str(matmul_dtype_for(config, cuda=False)).removeprefix("torch."),
        "engine": dataclasses.asdict(config),
        "single_stream": [single_stream(engine, sampling, m, 3) for m in ("base", "style_tool")],
        "aggregate": [aggregate(engine, sampling, n) for n in (8, 32)],
        "time_to_first_token": time_to_first_token(engine, sampling),
    }
    single = run["single_stream"][1]["decode_tokens_per_s"]
    for row in run["aggregate"]:
        row["vs_single_stream"] = round(row["tokens_per_s"] / single, 2)
    return run


def adapter_shapes() -> dict:
    """What was measured: each adapter's rank and modules (the speed depends on them)."""
    shapes = {}
    for config in sorted((ROOT / "models/adapters").glob("*/adapter_config.json")):
        c = json.loads(config.read_text("utf-8"))
        shapes[config.parent.name] = {"r": c["r"], "target_modules": sorted(c["target_modules"])}
    return shapes


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
