"""Model cards: each adapter as the Hugging Face Hub would show it, its README.md saying what
it was trained from and how it did on the held-out evaluation (twainlora/train/card.py).

    python stages/card.py

Reads models/adapters/<name>, models/base/twainlora.json (where the base weights came from),
metrics/train_<name>.json, metrics/eval.json and data/tagged/records.jsonl (the corpora's
provenance and licences). Writes:
  models/hub/<name>/   the adapter's files and README.md, the card: ready for
                       `hf upload <user>/<repo> models/hub/<name> .`
  metrics/card.json    per adapter, the rates under the project's targets (voice and tool)
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import atomic_open, read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.train.card import below_target, data_sources, model_card

log = logging.getLogger("card")

BASE_INFO = Path("models/base/twainlora.json")
ADAPTERS = {
    "style": (Path("models/adapters/style"), Path("metrics/train_style.json")),
    "style_tool": (Path("models/adapters/style_tool"), Path("metrics/train_style_tool.json")),
}
EVAL = Path("metrics/eval.json")
TAGGED = Path("data/tagged/records.jsonl")
HUB = Path("models/hub")
METRICS = Path("metrics/card.json")


@dataclass(frozen=True)
class Params:
    adapters: list[str]  # the adapters that get a card (keys of ADAPTERS)

    def __post_init__(self):
        if unknown := set(self.adapters) - set(ADAPTERS):
            raise ValueError(f"adapters: unknown {sorted(unknown)}; known: {sorted(ADAPTERS)}")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("card", Params)
    base_info = json.loads(BASE_INFO.read_text("utf-8"))
    evaluation = json.loads(EVAL.read_text("utf-8"))
    sources = data_sources(read_jsonl(TAGGED))
    metrics = {}
    for name in params.adapters:
        adapter, train_metrics = ADAPTERS[name]
        card = model_card(
            name,
            json.loads((adapter / "adapter_config.json").read_text("utf-8")),
            base_info,
            json.loads(train_metrics.read_text("utf-8")),
            evaluation,
            sources,
        )
        out = HUB / name
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(adapter, tmp)
        with atomic_open(tmp / "README.md") as f:
            f.write(card)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        metrics[name] = {"below_target": below_target(name, evaluation)}
        log.info("%s: %s; below target: %s", name, out / "README.md", metrics[name])
    write_json(METRICS, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
