"""`twainlora serve` for tests: the real server in a subprocess on a free loopback port, and
tiny real LoRA adapters for it to serve (tests/serve/test_server.py, tests/eval/test_answers.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(base: Path, adapters: Path, log: Path, *extra: str):
    """`twainlora serve` on a free port; its log goes to a file (a pipe nobody reads would
    fill and block it)."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twainlora.serve.cli", "serve", "--port", str(port)]
            + ["--base", str(base), "--adapters", str(adapters), "--threads", "1", *extra],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited {proc.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("the server did not come up in 300 s")


def stop_server(proc: subprocess.Popen, log: Path) -> str:
    """SIGTERM, as a process manager would: uvicorn shuts down gracefully, then re-raises the
    signal, so the exit status is -SIGTERM either way and the log tells the two apart."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    text = log.read_text()
    assert proc.returncode == -signal.SIGTERM, text
    assert "Application shutdown complete" in text, text
    return text


def make_adapters(base_dir: Path, out: Path) -> Path:
    """Two tiny real adapters (LoRA r=4 on q_proj/v_proj, random B so that each changes the
    output), saved as the train stage saves them: out/{style,style_tool}."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    for seed, name in enumerate(["style", "style_tool"]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base_dir)
        config = LoraConfig(
            r=4,
            lora_alpha=4,
            target_modules=["q_proj", "v_proj"],
            init_lora_weights=False,
            task_type="CAUSAL_LM",
        )
        get_peft_model(model, config).save_pretrained(out / name)
    return out
