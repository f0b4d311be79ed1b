"""Serving throughput: the real server under concurrent clients, against plain model.generate.

    python bench/serve.py [--requests 16] [--concurrency 8] [--max-tokens 32] [--model style_tool]

Starts `twainlora serve` (models/base + models/adapters, so after `dvc repro`) on a free
loopback port and sends --requests greedy chat requests from --concurrency openai clients, in
rounds of --concurrency at once: throughput (completion tokens/s), p50/p95 latency, errors.
After each round the same model, loaded in this process, runs `model.generate` on that round's
prompts (same adapter, threads, greedy, max_new_tokens) while the server idles. Alternating
round by round keeps load from other work on the machine (which moved generate's own speed
by 1.7x between runs here) out of the ratio of the server's tokens/s to generate's, whose
target is >= 0.9: HTTP, queueing, detokenization and our decode loop cost at most 10%.
Writes bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results/serve.json"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(threads: int, log: Path) -> tuple[subprocess.Popen, str]:
    import requests

    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "twainlora.serve.cli", "serve", "--port", str(port)]
            + ["--threads", str(threads), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"the server did not come up:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return server, url
        except requests.ConnectionError:
            time.sleep(0.5)


def server_round(client, args, messages_list) -> tuple[list[dict], float]:
    """Every request at once, one client thread each: (results, wall seconds)."""
    import openai

    def one(messages):
        start = time.perf_counter()
        try:
            r = client.chat.completions.create(
                model=args.model, messages=messages, max_tokens=args.max_tokens, temperature=0
            )
        except openai.APIError as e:
            return {"error": repr(e), "latency_s": time.perf_counter() - start}
        return {
            "latency_s": time.perf_counter() - start,
            "tokens": r.usage.completion_tokens,
            "text": r.choices[0].message.content,
        }

    start = time.perf_counter()
    with ThreadPoolExecutor(len(messages_list)) as pool:
        results = list(pool.map(one, messages_list))
    return results, time.perf_counter() - start


def load_engine(threads: int):
    from twainlora.core.params import load_params
    from twainlora.serve.engine import Engine, adapter_dirs
    from twainlora.serve.server import ServeParams

    params = load_params("serve", ServeParams, ROOT / "params.yaml")
    adapters = adapter_dirs(ROOT / params.adapters)
    return Engine.load(ROOT / params.base, adapters, params.dtype, threads, params.context_length)


def generate_round(engine, args, messages_list) -> tuple[list[str], int, float, float]:
    """One prompt after another: (texts, new tokens, wall and CPU seconds inside generate)."""
    import torch

    texts, tokens, seconds, cpu = [], 0, 0.0, 0.0
    with torch.inference_mode():
        for messages in messages_list:
            ids = torch.tensor([engine.render(messages, None)], device=engine.model.device)
            start, start_cpu = time.perf_counter(), time.process_time()
            out = engine.model.generate(
                input_ids=ids, max_new_tokens=args.max_tokens, do_sample=False
            )
            seconds += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            new = out[0, ids.shape[1] :].tolist()
            new = new[:-1] if new and new[-1] in engine.stop_ids else new
            tokens += len(new)
            texts.append(engine.tokenizer.decode(new, skip_special_tokens=True))
    return texts, tokens, seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--model", default="style_tool")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    args = parser.parse_args()
    if not (ROOT / "models/base/config.json").exists():
        raise SystemExit("no models/base: run `dvc repro` first")
    messages_list = [
        [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}] for i in range(args.requests)
    ]
    log = Path(tempfile.mkstemp(prefix="twainlora-serve-", suffix=".log")[1])
    server_proc, url = start_server(args.threads, log)
    results, server_s, server_cpu, gen_texts, gen_tokens, gen_s, gen_cpu = [], 0, 0, [], 0, 0, 0
    try:
        import openai
        import psutil

        from twainlora.serve.engine import BASE

        client = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=600)
        server_times = psutil.Process(server_proc.pid).cpu_times
        engine = load_engine(args.threads)
        if args.model != BASE:
            engine.model.set_adapter(args.model)
        for first in range(0, len(messages_list), args.concurrency):
            batch = messages_list[first : first + args.concurrency]
            before = server_times()
            round_results, wall = server_round(client, args, batch)
            after = server_times()
            results += round_results
            server_s += wall
            server_cpu += after.user + after.system - before.user - before.system
            texts, tokens, seconds, cpu = generate_round(engine, args, batch)
            gen_texts += texts
            gen_tokens += tokens
            gen_s += seconds
            gen_cpu += cpu
    finally:
        server_proc.send_signal(signal.SIGTERM)
        server_proc.wait(timeout=120)
    ok = [r for r in results if "error" not in r]
    latencies = [r["latency_s"] for r in ok]
    server_tokens = sum(r["tokens"] for r in ok)
    server = {
        "requests": len(results),
        "errors": [r["error"] for r in results if "error" in r],
        "wall_s": round(server_s, 2),
        "completion_tokens": server_tokens,
        "tokens_per_s": round(server_tokens / server_s, 2),
        "latency_p50_s": round(statistics.median(latencies), 2) if ok else None,
        "latency_p95_s": round(percentile(latencies, 0.95), 2) if ok else None,
        "cpu_s": round(server_cpu, 2),
        "tokens_per_cpu_s": round(server_tokens / server_cpu, 2),
    }
    generate = {
        "completion_tokens": gen_tokens,
        "seconds": round(gen_s, 2),
        "tokens_per_s": round(gen_tokens / gen_s, 2),
        "cpu_s": round(gen_cpu, 2),
        "tokens_per_cpu_s": round(gen_tokens / gen_cpu, 2),
    }
    ratio = (server_tokens / server_s) / (gen_tokens / gen_s)
    # Tokens per CPU-second hardly moves with other work on the cores (at 1 thread): the same
    # ratio measured in work instead of wall time.
    cpu_ratio = (server_tokens / server_cpu) / (gen_tokens / gen_cpu)
    same = sum(r.get("text") == t for r, t in zip(results, gen_texts, strict=True))
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": vars(args),
        "server": server,
        "generate": generate,
        "server_to_generate_tokens_per_s": round(ratio, 3),
        "server_to_generate_tokens_per_cpu_s": round(cpu_ratio, 3),
        "target_ratio": 0.9,
        "identical_greedy_outputs": f"{same}/{args.requests}",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(
        f"server: {server['requests']} requests, {args.concurrency} at once, "
        f"{len(server['errors'])} errors, {server['tokens_per_s']} tokens/s, "
        f"latency p50 {server['latency_p50_s']} s, p95 {server['latency_p95_s']} s"
    )
    print(f"model.generate on the same prompts: {generate['tokens_per_s']} tokens/s")
    print(
        f"ratio {ratio:.3f} in tokens/s, {cpu_ratio:.3f} in tokens/CPU-s (target >= 0.9); "
        f"identical greedy outputs "
        f"{result['identical_greedy_outputs']}; written to {RESULTS.relative_to(ROOT)}"
    )
    return 0 if not server["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
