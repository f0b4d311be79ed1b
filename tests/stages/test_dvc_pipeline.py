"""The real DVC on a copy of this pipeline: a changed file in the corpora mirror, a path
outside the repository, makes the ingest stage stale, and only that stage and its
dependents re-run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, ONION_SOURCE, ROOT, TINY_TWAIN_BOOK, shipped_params, write_books

pytestmark = pytest.mark.slow


def dvc(repo, *args):
    # The stages' commands say `python`: this interpreter's environment must come first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(FIXTURES / "mirror", tmp_path / "mirror")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("stages", "twainlora"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", repo / "dvc.yaml")
    params = shipped_params()
    params["ingest_gutenberg"].update(mirror="../mirror")
    write_books(repo / params["books"], [TINY_TWAIN_BOOK])
    params["ingest_reddit"].update(mirror="../mirror", sources=[ONION_SOURCE])
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    dvc(repo, "init", "--no-scm", "-q")
    return repo


def test_a_changed_mirror_file_makes_ingest_stale(repo):
    out = dvc(repo, "repro", "ingest_gutenberg", "ingest_reddit")
    assert "Running stage 'ingest_gutenberg'" in out and "Running stage 'ingest_reddit'" in out
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert any(
        d["path"] == "../mirror/gutenberg" for d in lock["stages"]["ingest_gutenberg"]["deps"]
    )
    assert "up to date" in dvc(repo, "status", "ingest_gutenberg", "ingest_reddit")

    with open(repo.parent / "mirror/gutenberg/tiny/1_tiny.txt", "ab") as f:
        f.write(b"\r\nA line appended upstream.\r\n")
    status = dvc(repo, "status", "ingest_gutenberg", "ingest_reddit")
    assert "ingest_gutenberg" in status and "modified:" in status and "mirror/gutenberg" in status
    assert "ingest_reddit" not in status

    out = dvc(repo, "repro", "ingest_gutenberg", "ingest_reddit")
    assert "Running stage 'ingest_gutenberg'" in out and "Running stage 'ingest_reddit'" not in out
    assert "Running stage" not in dvc(repo, "repro", "ingest_gutenberg", "ingest_reddit")
