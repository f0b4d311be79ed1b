"""The local S3 server (twainlora/remote/s3local.py, scripts/s3_local.py): real `rclone serve s3` on
loopback that checks the key pair, keeps objects on disk across restarts, and goes away with
the script on SIGTERM or Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from twainlora.remote.s3local import LocalS3

from conftest import ROOT


def client(endpoint: str, key: str, secret: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_script_serves_until_a_signal(tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/s3_local.py"), "--dir", str(tmp_path / "s3")]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        # Started as a non-interactive shell starts a background job (`make test &`): SIGINT
        # ignored. Ctrl-C must still stop it (it hung here before the script set its handler).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        printed = []
        while not printed or printed[-1] != "Ctrl-C stops it.":
            line = proc.stdout.readline()
            assert line, f"the script ended early: {printed}"
            printed.append(line.strip())
        assert "dvc remote modify --local storage endpointurl http://127.0.0.1:" in "\n".join(
            printed
        )
        export = next(line for line in printed if line.startswith("export "))
        env = dict(word.split("=", 1) for word in shlex.split(export)[1:])
        s3 = client(env["AWS_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
        s3.put_object(Bucket="twainlora", Key="dvc/hello", Body=b"hi")
        assert (tmp_path / "s3/twainlora/dvc/hello").read_bytes() == b"hi"
        with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
            client(env["AWS_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], "wrong").list_buckets()

        proc.send_signal(sig)
        try:  # a hang guard: slow under load, never a measure
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # say where it stood
            log = LocalS3(tmp_path / "s3").log_path
            tail = log.read_text("utf-8", "replace")[-2000:] if log.exists() else "(no log)"
            pytest.fail(f"still running 60 s after {sig.name}; rclone's log ends:\n{tail}")
        assert code == 0
        port = int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
    finally:
        proc.terminate()  # a no-op once it has exited; else it stops rclone too
        proc.wait(timeout=20)


def test_a_restarted_server_serves_what_a_killed_one_stored(tmp_path):
    server = LocalS3(tmp_path / "s3").start()
    try:
        s3 = client(server.endpoint, server.access_key_id, server.secret_access_key)
        s3.put_object(Bucket="twainlora", Key="a/b", Body=b"kept")
        server.process.kill()
        server.process.wait()
        server.start()
        assert s3.get_object(Bucket="twainlora", Key="a/b")["Body"].read() == b"kept"
    finally:
        server.stop()
