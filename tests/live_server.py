"""`twainlora serve` for tests: the real server in a subprocess on a free loopback port
(twainlora/serve/process.py), and tiny real LoRA adapters for it to serve
(tests/serve/test_server.py, tests/eval/test_answers.py)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from twainlora.serve import process


def start_server(base: Path, adapters: Path, log: Path, *extra: str):
    """`twainlora serve` on one thread over `base` and `adapters`; (process, url)."""
    args = ["--base", str(base), "--adapters", str(adapters), "--threads", "1", *extra]
    try:
        return process.start_server(log, *args)
    except RuntimeError as e:
        raise AssertionError(str(e)) from None


def stop_server(proc: subprocess.Popen, log: Path) -> str:
    """SIGTERM: uvicorn shuts down gracefully, then re-raises the signal, so the exit status
    is -SIGTERM either way and the log tells the two apart."""
    returncode = process.stop_server(proc)
    text = log.read_text()
    assert returncode == -signal.SIGTERM, text
    assert "Application shutdown complete" in text, text
    return text


def make_adapters(base_dir: Path, out: Path) -> Path:
    """Two tiny real adapters with random B (so that each changes the output), saved as the
    train stage saves them: out/style (r=4 on q_proj/v_proj) and out/style_tool (r=8 on all
    seven projections, as the train stage targets them)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    shapes = {
        "style": (4, ["q_proj", "v_proj"]),
        "style_tool": (8, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    }  # fmt: skip
    for seed, (name, (rank, targets)) in enumerate(shapes.items()):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base_dir)
        config = LoraConfig(
            r=rank,
            lora_alpha=rank,
            target_modules=targets,
            init_lora_weights=False,
            task_type="CAUSAL_LM",
        )
        get_peft_model(model, config).save_pretrained(out / name)
    return out
