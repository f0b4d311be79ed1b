"""Build the held-out evaluation sets: tool-use decisions and style prompts that no train
split holds, each with what a good reply must do (twainlora/eval/heldout.py).

    python stages/heldout.py

Reads the cities list, data/tagged/records.jsonl (book titles and authors, Reddit headlines
for unrelated requests) and the splits (train: the cities and prompts to stay away from;
eval_style: held-out passages). Writes:
  data/heldout/tool.jsonl     tool items by kind, a share with another tool's schema
  data/heldout/style.jsonl    style prompts by persona and framing
  data/rejects/heldout.jsonl  items dropped as near-duplicates of a train prompt
  metrics/heldout.json        items per kind, novel share, deployments, rejects
"""

from __future__ import annotations

import logging
import sys
from collections import Counter
from pathlib import Path

from twainlora.core.jsonl import read_jsonl, write_json, write_jsonl
from twainlora.core.params import load_params
from twainlora.data.dedupe import MinHashParams
from twainlora.domain.weather import WeatherService, WeatherWorld
from twainlora.eval import heldout
from twainlora.eval.heldout import HeldoutParams

log = logging.getLogger("heldout")

TAGGED = Path("data/tagged/records.jsonl")
TRAIN = (Path("data/splits/train_style.jsonl"), Path("data/splits/train_tool.jsonl"))
EVAL_STYLE = Path("data/splits/eval_style.jsonl")
TOOL_OUT = Path("data/heldout/tool.jsonl")
STYLE_OUT = Path("data/heldout/style.jsonl")
REJECTS = Path("data/rejects/heldout.jsonl")
METRICS = Path("metrics/heldout.json")


Params = HeldoutParams


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("heldout", Params)
    world = load_params("weather_world", WeatherWorld)
    near_duplicate = load_params("near_duplicate", MinHashParams)
    service = WeatherService.from_csv(world.cities)
    train = [r for path in TRAIN for r in read_jsonl(path)]
    books, headlines = [], []
    for record in read_jsonl(TAGGED):
        if record["source"] == "gutenberg":
            books.append((record["meta"]["title"], record["meta"]["author"]))
        elif record["source"] == "reddit":
            headlines.append(record["text"])
    passages = [
        r
        for r in read_jsonl(EVAL_STYLE)
        if r["tags"]["template"] == "style_imitation" and r["tags"]["persona"] != "neutral"
    ]
    builder = heldout.HeldoutBuilder(
        service, params, world, heldout.train_cities(service, train), books, headlines
    )
    train_texts = [heldout.user_text(r["messages"]) for r in train]
    tool, style, rejects = heldout.build(builder, passages, train_texts, near_duplicate)

    write_jsonl(TOOL_OUT, tool)
    write_jsonl(STYLE_OUT, style)
    write_jsonl(REJECTS, rejects)
    metrics = {
        "tool": dict(sorted(Counter(i["kind"] for i in tool).items())),
        "tool_novel": sum(i["novel"] for i in tool),
        "tool_deployments": len({i["deployment"] for i in tool}),
        "style": dict(sorted(Counter(f"{i['kind']}/{i['framing']}" for i in style).items())),
        "candidates_rejected_near_duplicate": len(rejects),
        "cities_available": len(builder.cities),
        "unseen_cities": builder.unseen_cities,
    }
    write_json(METRICS, metrics)
    log.info("%d tool items, %d style items; %s", len(tool), len(style), metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
