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


# Sections that several stages read (each lists them in dvc.yaml; tests/stages/test_dvc_yaml.py).
def _shared_sections():
    from twainlora.data.dedupe import MinHashParams
    from twainlora.domain.weather import WeatherWorld
    from twainlora.serve.settings import ServeParams
    from twainlora.sft.episodes import ToolOffer

    return {
        "books": str,
        "near_duplicate": MinHashParams,
        "weather_world": WeatherWorld,
        "tool_offer": ToolOffer,
        "serve": ServeParams,
    }


def test_every_other_section_is_shared_and_parses():
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())
    stages = set(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
    shared = _shared_sections()
    assert set(shipped) - stages == set(shared)
    for section, cls in shared.items():
        assert load_params(section, cls, ROOT / "params.yaml") is not None
