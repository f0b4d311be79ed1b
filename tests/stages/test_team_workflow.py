"""README "Team workflow" against a real local S3 server (`rclone serve s3`, twainlora/remote/s3local.py)
with the real `dvc` and `git`: one smoke run of the whole pipeline on the fixture mirror, in a
temporary git repository made from this project's files, pushed to the project's default
remote; a fresh clone pulls it; what re-runs after a param change; branches compared with
`dvc metrics diff`; and what the remote does when credentials, the server or an object fail."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from twainlora.remote.s3local import LocalS3

from conftest import FIXTURES, ONION_SOURCE, POSTS_SOURCE, ROOT, TINY_TWAIN_BOOK, write_books

pytestmark = pytest.mark.slow

REMOTE = "storage"  # the default remote in .dvc/config
TRAIN = {"train@style", "train@style_tool"}


def tool_env() -> dict[str, str]:
    # A developer's own AWS settings must not decide which server or key the tests use.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        # The stages' commands say `python`: this interpreter's environment comes first.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "DVC_NO_ANALYTICS": "1",
        "TQDM_DISABLE": "1",
    }


def run(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    # The stages import the repository's own twainlora, the code DVC hashes as their deps, not
    # the installed one (which others may be editing meanwhile).
    env = {**tool_env(), "PYTHONPATH": str(cwd)}
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    if ok:
        assert proc.returncode == 0, (
            f"{shlex.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return proc


def dvc(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    return run(repo, sys.executable, "-m", "dvc", *args, ok=ok)


def git(repo: Path, *args: str) -> str:
    return run(repo, "git", *args).stdout


def ran(proc: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout))


def dag(repo: Path, *target: str) -> tuple[set[str], list[tuple[str, str]]]:
    """DVC's own stage graph (of `target` and what it needs): stages and dependency edges."""
    dot = dvc(repo, "dag", "--dot", *target).stdout
    return set(re.findall(r'^"([^"]+)";$', dot, re.M)), re.findall(r'"([^"]+)" -> "([^"]+)"', dot)


def downstream(edges: list[tuple[str, str]], stages: set[str]) -> set[str]:
    """`stages` and every stage that depends on them."""
    found = set(stages)
    while grown := {b for a, b in edges if a in found} - found:
        found |= grown
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def digests(repo: Path) -> dict[str, str]:
    """Every file DVC put in the workspace (data/ and models/), by path."""
    return {
        p.relative_to(repo).as_posix(): sha256(p)
        for top in ("data", "models")
        for p in sorted((repo / top).rglob("*"))
        if p.is_file() and p.name != ".gitignore"
    }


def set_param(repo: Path, dotted: str, value) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text("utf-8"))
    *parents, key = dotted.split(".")
    section = params
    for name in parents:
        section = section[name]
    section[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")


def copy_project(repo: Path) -> None:
    """This project's tracked and new files as they are in the working tree (others may be
    editing them), less dvc.lock: the temporary repository's runs are its own."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in listed.split("\0"):
        source = ROOT / name
        if name and name != "dvc.lock" and source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)


def smoke_params(repo: Path) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text("utf-8"))
    # The fixture mirror lies beside the repository, as ../shared/corpora does beside ours.
    params["ingest_gutenberg"].update(mirror="../mirror")
    write_books(repo / params["books"], [TINY_TWAIN_BOOK])
    params["ingest_reddit"].update(mirror="../mirror", sources=[ONION_SOURCE, POSTS_SOURCE])
    params["clean"].update(min_tokens=8, batch_size=3)
    params["tag"]["spot_sample_size"] = 5
    params["tag"]["tone_classifier"]["epoch"] = 5
    params["instruct"]["targets"] = {
        "style_imitation": 4,
        "humor": 4,
        "aphorism": 2,
        "safety": 2,
    }
    params["split"]["holdout"] = 0.4
    params["weather_world"].update(cities="../mirror/geo/cities.csv", min_city_population=10000)
    params["synth"].update(
        weather_comments="../mirror/weather/wmo.json",
        counts={"weather_joke": 10, "style_transfer": 3, "bad_tool_output": 4},
    )
    params["tool_episodes"]["episodes"].update(n_episodes=80)
    params["heldout"].update(
        tool_counts={kind: 2 for kind in params["heldout"]["tool_counts"]},
        style_counts={kind: 2 for kind in params["heldout"]["style_counts"]},
    )
    # Every stage with a smoke profile (train, evaluate) runs it.
    for section in params.values():
        if isinstance(section, dict) and "smoke" in section.get("profiles", {}):
            section["profile"] = "smoke"
    # With a warmup the single smoke step has a learning rate of 0, and the adapters would not
    # depend on their data or on any training param.
    params["train"]["warmup"] = 0
    path.write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")


def use_server(repo: Path, server: LocalS3, remote: str = REMOTE, **overrides: str) -> None:
    for command in server.dvc_remote_commands(remote):
        key = command[-2]
        dvc(repo, *command[1:-1], overrides.get(key, command[-1]))


@dataclass
class Team:
    tmp: Path  # holds the mirror, the repository and its clones side by side
    repo: Path
    server: LocalS3
    repro: subprocess.CompletedProcess
    outputs: dict[str, str]  # sha256 of every DVC output after the smoke run

    def clone(self, name: str, **overrides: str) -> Path:
        """A teammate's fresh clone of main, pointed at the server (credentials overridable)."""
        path = self.tmp / name
        git(self.tmp, "clone", "-q", "--branch", "main", str(self.repo), name)
        use_server(path, self.server, **overrides)
        return path


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    shutil.copytree(FIXTURES / "mirror", tmp / "mirror")
    repo = tmp / "repo"
    copy_project(repo)
    smoke_params(repo)
    git(repo, "init", "-q", "--initial-branch", "main")
    with LocalS3(tmp / "s3") as server:
        use_server(repo, server)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "pipeline")
        repro = dvc(repo, "repro")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "smoke run")
        dvc(repo, "push")
        yield Team(tmp, repo, server, repro, digests(repo))
    # Two clones, their caches and two S3 stores come to ~12 GB: free it for the tests after.
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_smoke_run_trains_both_adapters(team):
    assert TRAIN <= ran(team.repro)
    for name in ("style", "style_tool"):
        assert f"models/adapters/{name}/adapter_model.safetensors" in team.outputs
        assert (team.repo / f"metrics/train_{name}.json").exists()
    assert any(p.startswith("data/splits/") for p in team.outputs)


def test_a_fresh_clone_pulls_the_run_byte_identical_and_chats(team):
    assert "in sync" in dvc(team.repo, "status", "--cloud").stdout
    clone = team.clone("teammate")
    dvc(clone, "pull")
    assert digests(clone) == team.outputs
    assert "Data and pipelines are up to date." in dvc(clone, "status").stdout
    assert git(clone, "status", "--porcelain") == ""
    assert chat(clone, "style_tool")


def chat(repo: Path, model: str) -> str:
    """One chat turn through the project's OpenAI-compatible server, serving what was pulled."""
    import openai
    import uvicorn

    from twainlora.core.params import load_params
    from twainlora.serve.server import create_app
    from twainlora.serve.settings import ServeParams

    params = load_params("serve", ServeParams, repo / "params.yaml")
    app = create_app(repo / params.base, repo / params.adapters, params)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            while not server.started:
                assert thread.is_alive(), "the server did not start"
                time.sleep(0.05)
            client = openai.OpenAI(
                base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", api_key="unused"
            )
            reply = client.chat.completions.create(
                model=model,
                messages=[
                    {
                        "role": "system",
                        "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER]",
                    },
                    {"role": "user", "content": "Tell me about the weather on the Mississippi."},
                ],
                max_tokens=16,
                temperature=0,
            )
            assert reply.model == model
            return reply.choices[0].message.content
        finally:
            server.should_exit = True
            thread.join()


def back_to_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "--force", "main")
    dvc(repo, "checkout", "--force")


@contextmanager
def on_branch(repo: Path, name: str):
    """A new branch of main for one test; main and its outputs are back afterwards."""
    git(repo, "checkout", "-q", "-b", name, "main")
    try:
        yield
    finally:
        back_to_main(repo)


def metric_rows(diff: str) -> dict[tuple[str, str], list[str]]:
    """`dvc metrics diff`'s table: (path, metric) -> [old, new, change]."""
    return {
        (cells[0], cells[1]): cells[2:]
        for line in diff.splitlines()
        if len(cells := line.split()) == 5
    }


def test_a_training_param_reruns_training_only_and_metrics_diff_shows_it(team):
    repo = team.repo
    with on_branch(repo, "lora-r8"):
        set_param(repo, "train.lora.r", 8)
        repro = dvc(repo, "repro")
        assert TRAIN <= ran(repro)
        assert ran(repro) == downstream(dag(repo)[1], TRAIN), repro.stdout
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "LoRA rank 8")

        rows = metric_rows(dvc(repo, "metrics", "diff", "main", "lora-r8").stdout)
        for name in ("style", "style_tool"):
            old, new, change = rows[(f"metrics/train_{name}.json", "eval_loss")]
            assert float(new) != float(old)
            assert float(change) == pytest.approx(float(new) - float(old), abs=1e-3)
        assert rows[("metrics/train_style.json", "params.lora.r")] == ["16", "8", "-8"]

        html = team.tmp / "plots-diff"
        dvc(repo, "plots", "diff", "main", "lora-r8", "--out", str(html))
        assert "train_style.csv" in (html / "index.html").read_text("utf-8")


def test_exp_run_sets_a_nested_param(team):
    repo = team.repo
    # The lora-r8 branch trained with these deps and params: DVC's run cache restores both
    # adapters in seconds. Only the `train` stages, because evaluate re-runs here (measured:
    # not restored) and `-S` on a nested param is what this checks.
    dvc(repo, "exp", "run", "--name", "rank8", "-S", "train.lora.r=8", "train")
    try:
        assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["lora"]["r"] == 8
        [main] = [
            row
            for row in json.loads(dvc(repo, "exp", "show", "--json").stdout)
            if row["name"] == "main"
        ]

        def rank(rev: dict) -> int:
            return rev["data"]["params"]["params.yaml"]["data"]["train"]["lora"]["r"]

        assert rank(main) == 16
        assert {exp["name"]: rank(exp["revs"][0]) for exp in main["experiments"]} == {"rank8": 8}
    finally:
        back_to_main(repo)


def test_a_cleaning_param_reruns_what_follows_clean_but_not_the_base_model(team):
    repo = team.repo
    with on_branch(repo, "min-tokens"):
        # Drops the fixture's one 16-token headline, so every later output changes.
        set_param(repo, "clean.min_tokens", 17)
        # Up to the style adapter, which needs both the data and the base model; the stages
        # after it re-run for a training param already (above), and cost minutes.
        stages, edges = dag(repo, "train@style")
        repro = dvc(repo, "repro", "train@style")
        assert "base_model" in stages and "train@style" in ran(repro)
        assert ran(repro) == downstream(edges, {"clean"}), repro.stdout
        assert "Stage 'base_model' didn't change, skipping" in repro.stdout


def stored(root: Path) -> dict[str, Path]:
    """The objects a remote under `root` holds, by hash; rclone's unfinished uploads (hidden
    from S3 listings) left out."""
    return {
        p.parent.name + p.name.removesuffix(".dir"): p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".rclone_temp_")
    }


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_wrong_credentials_fail_clearly_and_write_nothing(team):
    clone = team.clone("intruder", secret_access_key="not-the-secret")
    pull = dvc(clone, "pull", ok=False)
    assert pull.returncode != 0
    assert "Forbidden" in pull.stderr and "403" in pull.stderr, pull.stderr
    assert not [p for p in (clone / ".dvc/cache").rglob("*") if p.is_file()]
    assert not (clone / "models/adapters/style").exists()
    assert not (clone / "data/splits/train_style.jsonl").exists()

    dvc(team.repo, "remote", "add", "--local", "elsewhere", "s3://twainlora/elsewhere")
    use_server(team.repo, team.server, "elsewhere", access_key_id="nobody")
    push = dvc(team.repo, "push", "--remote", "elsewhere", ok=False)
    assert push.returncode != 0
    assert "Forbidden" in push.stderr and "403" in push.stderr, push.stderr
    assert not (team.server.root / "twainlora/elsewhere").exists()


def test_a_push_cut_off_by_a_dead_server_completes_on_retry(team):
    repo = team.repo
    flaky = LocalS3(team.tmp / "s3-flaky")
    flaky.start()
    try:
        dvc(repo, "remote", "add", "--local", "flaky", "s3://twainlora/dvc")
        use_server(repo, flaky, "flaky")
        objects = flaky.root / "twainlora/dvc"
        # One attempt per request: the cut-off push then gives up in a second, not after
        # botocore's retries (~40 s, measured).
        push = subprocess.Popen(
            [sys.executable, "-m", "dvc", "push", "--remote", "flaky"],
            cwd=repo,
            env={**tool_env(), "AWS_MAX_ATTEMPTS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # The 540 MB base model takes seconds: kill the server once a first object is stored.
        while not (objects.exists() and stored(objects)):
            assert push.poll() is None, push.stdout.read()
            time.sleep(0.02)
        flaky.process.kill()
        flaky.process.wait()
        out, _ = push.communicate(timeout=300)
        assert push.returncode != 0, out
        # "Could not connect to the endpoint URL" for queued objects, "Connection was closed
        # before we received a valid response from endpoint URL" for those in flight.
        assert "endpoint URL" in out
        before = set(stored(objects))

        flaky.start()  # the same port and folder
        retry = dvc(repo, "push", "--remote", "flaky")
        pushed = int(re.search(r"(\d+) files? pushed", retry.stdout).group(1))
        assert pushed > 0
        assert len(stored(objects)) == len(before) + pushed
        assert "in sync" in dvc(repo, "status", "--cloud", "--remote", "flaky").stdout
        # Whole objects only: each one's content hashes to its name.
        assert all(md5(path) == name for name, path in stored(objects).items())
    finally:
        flaky.stop()


def test_a_corrupted_remote_object_is_refused_on_pull(team):
    target = "data/splits/train_style.jsonl"
    lock = yaml.safe_load((team.repo / "dvc.lock").read_text())
    digest = next(o["md5"] for o in lock["stages"]["split"]["outs"] if o["path"] == target)
    s3 = boto3.client(
        "s3",
        endpoint_url=team.server.endpoint,
        aws_access_key_id=team.server.access_key_id,
        aws_secret_access_key=team.server.secret_access_key,
    )
    key = f"dvc/files/md5/{digest[:2]}/{digest[2:]}"
    good = s3.get_object(Bucket="twainlora", Key=key)["Body"].read()
    s3.put_object(Bucket="twainlora", Key=key, Body=b"X" + good[1:])
    try:
        clone = team.clone("unlucky")
        pull = dvc(clone, "pull", target, ok=False)
        assert pull.returncode != 0
        assert f"Checkout failed for following targets:\n{target}" in pull.stderr, pull.stderr
        assert not (clone / target).exists()
        assert not (clone / ".dvc/cache/files/md5" / digest[:2] / digest[2:]).exists()

        # Why .dvc/config sets `verify`: without it (DVC's default for S3) the same pull
        # succeeds, checks out the bad bytes, and `dvc data status` sees nothing wrong.
        dvc(clone, "remote", "modify", "--local", REMOTE, "verify", "false")
        dvc(clone, "pull", target)
        assert md5(clone / target) != digest
        assert target not in dvc(clone, "data", "status", "--json").stdout

        # The repair README gives: push skips an object the remote has, so delete it first.
        assert "Everything is up to date." in dvc(team.repo, "push", target).stdout
        s3.delete_object(Bucket="twainlora", Key=key)
        assert "1 file pushed" in dvc(team.repo, "push", target).stdout
        assert s3.get_object(Bucket="twainlora", Key=key)["Body"].read() == good
    finally:
        s3.put_object(Bucket="twainlora", Key=key, Body=good)
