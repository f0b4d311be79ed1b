import importlib.util
import sys
from dataclasses import dataclass, field

import pytest
import yaml

from twainlora.core.params import ParamsError, from_dict, load_params

from conftest import ROOT


@dataclass(frozen=True)
class Inner:
    start: str
    end: str = "x"


@dataclass(frozen=True)
class Outer:
    n: int
    ratio: float
    items: list[Inner]
    by_id: dict[int, Inner] = field(default_factory=dict)
    name: str | None = None


def test_nested_conversion():
    p = from_dict(
        Outer,
        {"n": 1, "ratio": 2, "items": [{"start": "a"}], "by_id": {7: {"start": "b", "end": "c"}}},
        "t",
    )
    assert p.ratio == 2.0 and isinstance(p.ratio, float)
    assert p.items == (Inner("a"),)
    assert p.by_id[7] == Inner("b", "c")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": 1, "ratio": 1.0, "items": [], "typo": 1}, r"t: unknown key\(s\) \['typo'\]"),
        ({"n": 1, "items": []}, r"t: missing key\(s\) \['ratio'\]"),
        ({"n": "one", "ratio": 1.0, "items": []}, r"t.n: expected int, got 'one'"),
        ({"n": 1, "ratio": 1.0, "items": [{"stat": "a"}]}, r"t.items\[0\]: unknown key"),
        ({"n": 1, "ratio": 1.0, "items": {}}, r"t.items: expected a list"),
    ],
)
def test_bad_params_are_clear_errors(data, message):
    with pytest.raises(ParamsError, match=message):
        from_dict(Outer, data, "t")


def _stage_params(name):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through it
    spec.loader.exec_module(module)
    return module.Params


# Every stage of dvc.yaml, so a new stage's section is parsed too.
@pytest.mark.parametrize("stage", sorted(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]))
def test_every_shipped_section_parses(stage):
    params = load_params(stage, _stage_params(stage), ROOT / "params.yaml")
    assert params is not None


def test_missing_section(tmp_path):
    (tmp_path / "p.yaml").write_text("a: {}\n")
    with pytest.raises(ParamsError, match="no section 'clean'"):
        load_params("clean", Outer, tmp_path / "p.yaml")


# Blocks that several sections carry, written out in each (anchors would break `dvc exp run
# -S`): the copies must agree, or two stages would disagree on what a near-duplicate or the
# weather world is.
SHARED = {
    "near-duplicate test": [
        ("dedupe", "minhash"),
        ("split", "leakage"),
        ("synth", "dedupe"),
        ("heldout", "near_duplicate"),
    ],
    "books file": [("ingest_gutenberg", "books"), ("clean", "books")],
    "cities": [("tool_episodes", "cities"), ("synth", "cities"), ("heldout", "cities")],
    "min city population": [
        ("tool_episodes", "episodes", "min_city_population"),
        ("synth", "min_city_population"),
    ],
    "personas": [("tool_episodes", "episodes", "persona_shares"), ("synth", "persona_shares")],
    "seed schema share": [
        ("tool_episodes", "episodes", "seed_schema_share"),
        ("synth", "seed_schema_share"),
        ("split", "offered_tools", "seed_schema_share"),
    ],
    "distractor share": [
        ("tool_episodes", "episodes", "distractor_share"),
        ("synth", "distractor_share"),
        ("split", "offered_tools", "distractor_share"),
    ],
    "engine": [("serve", "engine"), ("evaluate", "engine")],
    "parallel tool calls": [("serve", "parallel_tool_calls"), ("evaluate", "parallel_tool_calls")],
    "reference dates": [
        ("tool_episodes", "episodes", "first_reference_date"),
        ("synth", "first_reference_date"),
        ("heldout", "first_reference_date"),
    ],
}


@pytest.mark.parametrize("block", sorted(SHARED))
def test_shared_blocks_agree_across_sections(block):
    import yaml

    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())

    def value(path):
        node = shipped
        for key in path:
            node = node[key]
        return node

    values = [value(path) for path in SHARED[block]]
    assert all(v == values[0] for v in values), dict(
        zip(map(".".join, SHARED[block]), values, strict=True)
    )
