"""The repetition guard: degeneration and voice of greedy style replies under several
settings, to choose serve.frequency_penalty, presence_penalty and no_repeat_ngram_size.

    python bench/repetition.py [--settings 0.7:0:0,0.7:0:5] [--prompts 72] [--models style]

Answers the held-out style prompts (data/heldout/style.jsonl) on the server's path as the
evaluate stage does (greedy, evaluate.max_new_tokens.style), once per setting
(frequency_penalty:presence_penalty:no_repeat_ngram_size), with the models asked (`base` and
folders of models/adapters). Prints, per setting and model, the share of replies that repeat
a 4-word sequence three times or more, distinct-2, and the Twain and Franklin shares of the
evaluate stage's style classifier (trained here as the stage trains it, cross-fitted on the
base model's replies at the server's defaults); writes bench/results/repetition.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import yaml

from twainlora.core.jsonl import read_jsonl, write_json
from twainlora.core.params import from_dict, load_params
from twainlora.eval import answers, decisions, style
from twainlora.eval.prompts import prompt_sets
from twainlora.serve.engine import adapter_dirs
from twainlora.serve.settings import ServeParams

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train_style", "eval_style", "train_tool", "eval_tool")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="0.7:0:0,0.7:0:4,0.7:0:5,0.7:0:6")
    parser.add_argument("--prompts", type=int, default=None, help="every k-th; default: all")
    parser.add_argument("--models", default="style", help="comma-separated")
    args = parser.parse_args()
    settings = []
    for setting in args.settings.split(","):
        frequency, presence, ngram = (setting.split(":") + ["0"])[:3]
        settings.append((float(frequency), float(presence), int(ngram)))

    evaluate = yaml.safe_load((ROOT / "params.yaml").read_text("utf-8"))["evaluate"]
    serve = load_params("serve", ServeParams, ROOT / "params.yaml")
    splits = {n: list(read_jsonl(ROOT / f"data/splits/{n}.jsonl")) for n in SPLITS}
    items = prompt_sets(read_jsonl(ROOT / "data/heldout/style.jsonl"), [], None)["style"]
    if args.prompts:
        items = items[:: max(1, len(items) // args.prompts)][: args.prompts]
    models = args.models.split(",")
    adapters = {n: p for n, p in adapter_dirs(ROOT / "models/adapters").items() if n in models}
    engine = answers.load_engine(ROOT / "models/base", adapters, serve.engine)
    budget = {"style": evaluate["max_new_tokens"]["style"]}
    # The evaluate stage's classifier: the base model's replies (at the server's default
    # penalties, as evaluate answers) in its neutral class, cross-fitted over the prompts.
    served = answers.Decoding.served(serve)
    base_replies = answers.answer_all(engine, ["base"], {"style": items}, budget, served)[0]
    classifier, report, _ = style.cross_fitted_classifier(
        from_dict(style.ClassifierParams, evaluate["classifier"], "evaluate.classifier"),
        splits,
        list(read_jsonl(ROOT / "data/tagged/records.jsonl")),
        [i.id for i in items],
        base_replies["base"]["style"],
    )
    requested = [(i.persona, i.framing) for i in items]

    rows = []
    for frequency, presence, ngram in settings:
        decoding = answers.Decoding(False, frequency, presence, ngram)
        start = time.perf_counter()
        texts, stats = answers.answer_all(engine, models, {"style": items}, budget, decoding)
        seconds = time.perf_counter() - start
        for model in models:
            replies = texts[model]["style"]
            scores = style.style_scores(requested, classifier.probabilities(replies), replies)
            degeneration = decisions.degeneration(replies)
            row = {
                "frequency_penalty": frequency,
                "presence_penalty": presence,
                "no_repeat_ngram_size": ngram,
                "model": model,
                "repeats_4gram_3x": degeneration["repeats_4gram_3x"]["rate"],
                "distinct_2": degeneration["distinct_2"],
                "twain_share": scores.get("twain_share", {}).get("rate"),
                "franklin_share": scores.get("franklin_share", {}).get("rate"),
            }
            rows.append(row)
            print(
                f"freq {frequency:.2f} pres {presence:.2f} ngram {ngram} {model:>10}: repeats "
                f"{row['repeats_4gram_3x']:.2f}, distinct-2 {row['distinct_2']:.2f}, Twain "
                f"{row['twain_share']}, Franklin {row['franklin_share']}"
            )
        print(f"  ({stats.prompts} replies in {seconds:.0f} s)")
    write_json(
        ROOT / "bench/results/repetition.json",
        {
            "prompts": len(items),
            "max_new_tokens": budget["style"],
            "classifier_macro_f1": report["macro_f1"],
            "rows": rows,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
