"""Serving throughput: the real server, one client and then eight at once, beside llama-server.

    python bench/serve.py [--clients 8] [--requests 4] [--max-tokens 64] [--threads 2]

After `dvc repro`. Starts `twainlora serve` (models/base + models/adapters) on a free loopback
port and sends greedy chat requests with the openai client:
  - single stream: --requests requests to style_tool, one after another;
  - concurrent: --clients clients at once, each sending --requests requests back to back,
    the models base/style/style_tool taken in turn, so adapters share the engine's batches.
Reports completion tokens/s (all tokens over the wall time), p50/p95 latency and errors, and
the ratio concurrent/single (target >= 4 at 8 clients). Then, when llama.cpp's `llama-server`
is on PATH (or given by --llama-server or $LLAMA_SERVER), the same two runs against it on
models/gguf/base.bf16.gguf with the LoRA files of models/gguf (selected per request), with
--parallel set to --clients. Writes bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from decode import PROMPTS  # bench/ is on sys.path when run as a script

from twainlora.core.jsonl import write_json
from twainlora.serve import process

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench/results/serve.json"
GGUF = ROOT / "models/gguf"
MODELS = ("base", "style", "style_tool")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ask(client, model: str, prompt: str, max_tokens: int, extra: dict) -> dict:
    import openai

    start = time.perf_counter()
    try:
        r = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            temperature=0,
            extra_body=extra or None,
        )
    except openai.APIError as e:
        return {"error": repr(e), "latency_s": time.perf_counter() - start}
    return {"latency_s": time.perf_counter() - start, "tokens": r.usage.completion_tokens}


def run(client, jobs_per_client: list[list[tuple[str, str]]], max_tokens, extra_for) -> dict:
    """Each client's jobs (model, prompt) back to back, the clients at once."""

    def client_loop(jobs):
        return [ask(client, m, p, max_tokens, extra_for(m)) for m, p in jobs]

    start = time.perf_counter()
    with ThreadPoolExecutor(len(jobs_per_client)) as pool:
        results = [r for rs in pool.map(client_loop, jobs_per_client) for r in rs]
    wall = time.perf_counter() - start
    ok = [r for r in results if "error" not in r]
    latencies = [r["latency_s"] for r in ok]
    tokens = sum(r["tokens"] for r in ok)
    return {
        "clients": len(jobs_per_client),
        "requests": len(results),
        "errors": [r["error"] for r in results if "error" in r],
        "completion_tokens": tokens,
        "wall_s": round(wall, 2),
        "tokens_per_s": round(tokens / wall, 2),
        "latency_p50_s": round(statistics.median(latencies), 2) if ok else None,
        "latency_p95_s": round(percentile(latencies, 0.95), 2) if ok else None,
    }


def measure(url: str, args, extra_for=lambda model: {}) -> dict:
    import openai

    client = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0, timeout=900)
    ask(client, "style_tool", "Hi", 4, extra_for("style_tool"))  # warm-up
    single = [[("style_tool", PROMPTS[i % len(PROMPTS)]) for i in range(args.requests)]]
    concurrent = [
        [(MODELS[(c + i) % 3], PROMPTS[(c + i) % len(PROMPTS)]) for i in range(args.requests)]
        for c in range(args.clients)
    ]
    out = {"single": run(client, single, args.max_tokens, extra_for)}
    out["concurrent"] = run(client, concurrent, args.max_tokens, extra_for)
    out["concurrent_vs_single"] = round(
        out["concurrent"]["tokens_per_s"] / out["single"]["tokens_per_s"], 2
    )
    return out


def ours(args) -> dict:
    log = Path(tempfile.mkstemp(prefix="twainlora-serve-", suffix=".log")[1])
    proc, url = process.start_server(log, "--threads", str(args.threads), "--log-level", "warning")
    try:
        return measure(url, args)
    finally:
        process.stop_server(proc, timeout_s=120)


def llama_server(args) -> dict:
    binary = args.llama_server or os.environ.get("LLAMA_SERVER") or shutil.which("llama-server")
    if not binary:
        print("llama-server not found (PATH, --llama-server or $LLAMA_SERVER): skipping it")
        return {"skipped": "llama-server not found"}
    base = GGUF / "base.bf16.gguf"
    loras = [GGUF / f"{name}.lora.gguf" for name in MODELS[1:]]
    if not all(p.exists() for p in [base, *loras]):
        print("no GGUF files in models/gguf: run the export stage; skipping llama-server")
        return {"skipped": "no GGUF files"}
    port = process.free_port()
    command = [binary, "--model", str(base), "--port", str(port), "--threads", str(args.threads)]
    command += ["--parallel", str(args.clients), "--ctx-size", str(2048 * args.clients)]
    command += ["--jinja", "--lora-init-without-apply"]
    for lora in loras:
        command += ["--lora", str(lora)]
    log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    with open(log, "w") as out:
        # Without OMP_WAIT_POLICY=PASSIVE (ours): it slowed llama.cpp's decode threefold.
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, log)

        def extra_for(model: str) -> dict:
            # Every LoRA at scale 0 but the model's own: the base model is all zeros.
            return {"lora": [{"id": i, "scale": float(MODELS[1 + i] == model)}
                             for i in range(len(loras))]}  # fmt: skip

        return {"binary": binary, "model": str(base.relative_to(ROOT)),
                **measure(url, args, extra_for)}  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def wait_until_up(proc, url: str, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"llama-server exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise SystemExit("llama-server did not come up")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=4, help="per client")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch / llama.cpp threads")
    parser.add_argument("--llama-server", help="path of llama.cpp's llama-server")
    args = parser.parse_args()
    if not (ROOT / "models/base/config.json").exists():
        raise SystemExit("no models/base: run `dvc repro` first")
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
        "settings": {k: v for k, v in vars(args).items() if k != "llama_server"},
        "adapters": sorted(
            p.parent.name for p in (ROOT / "models/adapters").glob("*/adapter_config.json")
        ),
        "ours": ours(args),
        "llama_server": llama_server(args),
        "target_concurrent_vs_single": 4,
    }
    write_json(RESULTS, result)
    for name in ("ours", "llama_server"):
        side = result[name]
        if "single" not in side:
            continue
        s, c = side["single"], side["concurrent"]
        print(
            f"{name}: single {s['tokens_per_s']} tokens/s; {c['clients']} clients "
            f"{c['tokens_per_s']} tokens/s ({side['concurrent_vs_single']}x), "
            f"{len(c['errors'])} errors, latency p50 {c['latency_p50_s']} s, "
            f"p95 {c['latency_p95_s']} s"
        )
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if not result["ours"]["concurrent"]["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
