"""dvc.yaml and the stage scripts agree: every module a stage imports, every path it reads or
writes, and the params sections it loads are declared (STYLE.md: no hidden inputs)."""

import ast
import re

import pytest
import yaml

from conftest import ROOT

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
# metrics/<stage>.json, except where the seed named the file: `dvc metrics diff` compares eval.json
METRICS_FILE = {"evaluate": "metrics/eval.json"}


def _holds_code(path) -> bool:
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def twainlora_imports(path, seen=None):
    """twainlora modules a file imports, transitively, as repo-relative paths."""
    seen = set() if seen is None else seen
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("twainlora"):
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("twainlora")]
        for name in names:
            module = ROOT / (name.replace(".", "/") + ".py")
            if not module.exists():  # a package: its __init__ counts where it holds code
                module = ROOT / name.replace(".", "/") / "__init__.py"
                if module.exists() and not _holds_code(module):
                    continue
            rel = module.relative_to(ROOT).as_posix()
            if module.exists() and rel not in seen:
                seen.add(rel)
                twainlora_imports(module, seen)
    return seen


def lexicons_used(modules):
    used = set()
    for rel in modules:
        source = (ROOT / rel).read_text()
        used |= {
            f"twainlora/lexicons/{m}.txt" for m in re.findall(r'load_lexicon\("(\w+)"\)', source)
        }
        used |= {f"twainlora/lexicons/{m}" for m in re.findall(r'"(\w+\.tsv)"', source)}
    return used


@pytest.mark.parametrize("name", sorted(DVC))
def test_stage_declares_what_its_script_uses(name):
    stage = DVC[name]
    script = ROOT / "stages" / f"{name}.py"
    foreach = "foreach" in stage
    if foreach:  # train@style, train@style_tool: one script, the item's paths from the matrix
        items, stage = stage["foreach"], stage["do"]
        launcher = "accelerate launch --config_file ${train.accelerate_config}"
        assert stage["cmd"] == f"{launcher} stages/{name}.py ${{key}}"
        assert set(items) == set(re.findall(r'"(\w+)": \(\s*Path', script.read_text()))
    else:
        assert stage["cmd"] == f"python stages/{name}.py"
    deps = set(stage["deps"])
    outs = {next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])}
    metrics = {next(iter(m)) for m in stage.get("metrics", [])}
    outs |= {next(iter(p)) if isinstance(p, dict) else p for p in stage.get("plots", [])}
    assert f"stages/{name}.py" in deps
    modules = twainlora_imports(script)
    assert modules - deps == set(), "library modules missing from deps"
    declared = {d for d in deps if d.startswith("twainlora/") and d.endswith(".py")}
    assert declared - modules == set(), "deps on library modules the stage does not import"
    lexicons = lexicons_used(modules)
    assert lexicons <= deps, "lexicons missing from deps"
    paths = set(re.findall(r'Path\("((?:data|metrics|reports|plots)/[^"]+)"\)', script.read_text()))
    if foreach:
        item_paths = {v for item in items.values() for v in item.values()}
        assert paths <= item_paths
    else:
        assert paths == {
            p
            for p in deps | outs | metrics
            if p.startswith(("data/", "metrics/", "reports/", "plots/"))
        }
    # Its own section first, then the shared sections the script loads (a dotted entry such as
    # serve.engine: only that part of a section it reads).
    loaded = re.findall(r'load_params\(\s*"(\w+)"', script.read_text())
    assert stage["params"][0] == name and name in loaded
    assert {p.split(".")[0] for p in stage["params"]} == set(loaded)
    own = METRICS_FILE.get(name, f"metrics/{name}.json")
    assert metrics == ({f"metrics/{name}_${{key}}.json"} if foreach else {own})
