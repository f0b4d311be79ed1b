"""Shared test helpers: the repo root, the fixture mirror, and running a stage for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_CORPORA = ROOT.parent / "shared" / "corpora"

# What tests/fixtures/mirror holds, as books-file and params.yaml entries (paths relative to
# the mirror).
TINY_TWAIN_BOOK = {
    "id": 1,
    "year": 1900,
    "author": "Mark Twain",
    "title": "A Tiny Book",
    "path": "gutenberg/tiny/1_tiny.txt",
    "body": {
        "start": "The river was wide and brown that morning, and the steamboat came around the bend",
        "end": "unjust, to be certain they had understood the point of the lesson.",
    },
}
ONION_SOURCE = {
    "key": "oon",
    "path": "reddit/onion_small.csv",
    "text_column": "text",
    "label_column": "label",
    "labels": {"1": "TheOnion", "0": "nottheonion"},
}
POSTS_SOURCE = {"key": "posts", "path": "reddit/posts_small.csv"}


def shipped_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))


def shipped_books() -> list[dict]:
    """The entries of the shipped books file (configs/books.yaml)."""
    path = ROOT / shipped_params()["books"]
    return yaml.safe_load(path.read_text("utf-8"))["books"]


def write_books(path: Path, books: list[dict]) -> str:
    """A books file at `path` listing `books`; returns the path as params name it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"books": books}, sort_keys=False), "utf-8")
    return str(path)


def run_stage(
    name: str, workdir: Path, check: bool = True, args: list[str] = (), env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run stages/<name>.py as DVC would: a fresh interpreter, cwd = the workdir."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "stages" / f"{name}.py"), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"stage {name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty stage working directory with a copy of the fixture mirror at ./mirror."""
    shutil.copytree(FIXTURES / "mirror", tmp_path / "mirror")
    return tmp_path


def fixture_world(cities: str | Path = FIXTURES / "mirror/geo/cities.csv") -> dict:
    """params weather_world over the fixture mirror's small cities list."""
    return {
        **shipped_params()["weather_world"],
        "cities": str(cities),
        "min_city_population": 10000,
    }


def parsed_world():
    """fixture_world() as the stages parse it."""
    from twainlora.core.params import from_dict
    from twainlora.domain.weather import WeatherWorld

    return from_dict(WeatherWorld, fixture_world(), "weather_world")


def shipped_offer():
    """The shipped tool_offer section, parsed."""
    from twainlora.core.params import from_dict
    from twainlora.sft.episodes import ToolOffer

    return from_dict(ToolOffer, shipped_params()["tool_offer"], "tool_offer")


def write_params(workdir: Path, **sections) -> None:
    """params.yaml in `workdir`: the shipped sections, with the given ones replaced."""
    params = shipped_params()
    params.update(sections)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")


@pytest.fixture(scope="session")
def base_model_dir(tmp_path_factory) -> Path:
    """models/base built once per test session by the real base_model stage (SmolLM2)."""
    workdir = tmp_path_factory.mktemp("base")
    write_params(workdir)
    run_stage("base_model", workdir)
    return workdir / "models/base"
