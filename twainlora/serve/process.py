"""`twainlora serve` as a child process on a free loopback port: for the tests that talk to
the real server over HTTP and for bench/serve.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log: Path, *args: str, timeout_s: float = 300) -> tuple[subprocess.Popen, str]:
    """`twainlora serve --port <free> *args`, run from the repository root; its output goes
    to `log` (a pipe nobody reads would fill and block it). Returns once /health answers;
    raises RuntimeError with the log if the server exits or does not come up in time."""
    import requests

    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twainlora.serve.cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited {proc.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the server did not come up in {timeout_s:.0f} s:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen, timeout_s: float = 60) -> int:
    """SIGTERM, as a process manager would (uvicorn finishes in-flight requests, then
    re-raises the signal); the exit status."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout_s)
