"""The evaluate stage's params: the shipped ones parse, bad ones are refused before any
model is loaded."""

import importlib.util
import sys

import pytest
import yaml

from twainlora.core.params import ParamsError, load_params

from conftest import ROOT


def evaluate_params_class():
    spec = importlib.util.spec_from_file_location("stage_evaluate", ROOT / "stages/evaluate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through it
    spec.loader.exec_module(module)
    return module.Params


def test_the_shipped_params_parse_and_bad_ones_are_refused(tmp_path):
    params_class = evaluate_params_class()
    params = load_params("evaluate", params_class, ROOT / "params.yaml")
    assert params.profile == "cpu" and params.judge.endpoint.base_url == ""
    section = yaml.safe_load((ROOT / "params.yaml").read_text())["evaluate"]
    for change, message in [
        ({"profile": "tpu"}, "profile 'tpu' is not among"),
        ({"max_new_tokens": {"style": 8}}, "max_new_tokens needs exactly"),
        (
            {"profiles": {**section["profiles"], "cpu": {"per_kind": None, "tool_points": 1}}},
            r"profiles.cpu: unknown key\(s\) \['tool_points'\]",
        ),
    ]:
        (tmp_path / "p.yaml").write_text(yaml.safe_dump({"evaluate": {**section, **change}}))
        with pytest.raises(ParamsError, match=message):
            load_params("evaluate", params_class, tmp_path / "p.yaml")
