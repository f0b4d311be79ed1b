"""Evaluate the base model and both adapters on the same held-out data, so that every number
comes with its delta against the base model.

    python stages/evaluate.py

Loads models/base once with models/adapters/{style,style_tool} as named PEFT adapters in the
server's engine and asks every model, as a client of `twainlora serve` would (the server's
path: chat template, tool-call grammar under tool_choice auto, reply parsing; greedy with the
server's repetition guard), the held-out prompts of the heldout stage (data/heldout: no prompt
in or near a train split; per kind, all of them or the `evaluate.profile`'s first few; the
tool items only of the base model and style_tool) and ten fixed example prompts. Then, every
rate with its 95% Wilson interval:
  style       a fastText classifier (twain / franklin / other authors / satire headlines /
              neutral) trained on the train split (+ contrast authors from data/tagged, +
              the base model's replies to half the style prompts as neutral, cross-fitted:
              twainlora/eval/style.py), scored on the eval split, applied to the style
              answers: the voice asked for,
              by persona and by framing (control tokens, a plain persona system prompt, the
              persona named in the request); degeneration (a 4-gram three times, distinct-2)
  tool        the decisions (twainlora/eval/decisions.py): a call when one is due, with the
              right function, place and date; no call on unrelated requests; a question back
              without a place; no new call and nothing invented after a tool result or error;
              each also split into the data's own schemas and phrasings (seen) and others
              (novel)
  toxicity    alt-profanity-check on every answer, against the base model
  copy        share of generated 8-grams found verbatim in the training answers
  overfit     train/eval losses from metrics/train_{style,style_tool}.json
  judge       Twain-ness, wit, groundedness from an OpenAI-compatible endpoint (params
              evaluate.judge or TWAINLORA_JUDGE_BASE_URL/_MODEL; cached in .cache/judge);
              "not configured" without one (twainlora/eval/review.py)
  spot_check  human ratings from reports/spot_check_ratings.csv, which this stage only
              reads: copy rated rows of reports/spot_check.csv there (tone 1-5, correctness
              yes/no, hallucinated_weather yes/no) and commit it. A rating is keyed by model,
              prompt and the response's hash, so it counts until the model answers otherwise
Writes:
  metrics/eval.json           per model, with delta_vs_base for the adapters; `run` says how
                              the answers were generated
  plots/eval_confusion.csv    the classifier's eval predictions (actual, predicted)
  plots/eval_models.csv       headline numbers per model, for bars
  reports/examples.md         the fixed prompts' answers side by side
  reports/spot_check.csv      30 sampled conversations per model, rating columns empty
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.jsonl import atomic_open, read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.eval import answers, prompts, review, scorecard, style
from twainlora.serve.settings import ServeParams

log = logging.getLogger("evaluate")

BASE = Path("models/base")
ADAPTERS = {
    "style": Path("models/adapters/style"),
    "style_tool": Path("models/adapters/style_tool"),
}
MODELS = (scorecard.BASE, *ADAPTERS)
# The style adapter learned no tool: its tool decisions are no one's target, and the tool
# items (~300 prompt tokens each) were a third of the stage's time. The base model answers
# them as the reference.
ASKED = {
    scorecard.BASE: prompts.GROUPS,
    "style": ("style", "examples"),
    "style_tool": prompts.GROUPS,
}
SPLITS = {
    "train_style": Path("data/splits/train_style.jsonl"),
    "eval_style": Path("data/splits/eval_style.jsonl"),
    "train_tool": Path("data/splits/train_tool.jsonl"),
    "eval_tool": Path("data/splits/eval_tool.jsonl"),
}
HELDOUT_STYLE = Path("data/heldout/style.jsonl")
HELDOUT_TOOL = Path("data/heldout/tool.jsonl")
TAGGED = Path("data/tagged/records.jsonl")
TRAIN_METRICS = {
    "style": Path("metrics/train_style.json"),
    "style_tool": Path("metrics/train_style_tool.json"),
}
RATINGS = Path("reports/spot_check_ratings.csv")
METRICS = Path("metrics/eval.json")
CONFUSION = Path("plots/eval_confusion.csv")
BARS = Path("plots/eval_models.csv")
EXAMPLES = Path("reports/examples.md")
SPOT_CHECK = Path("reports/spot_check.csv")


@dataclass(frozen=True)
class Profile:
    per_kind: int | None  # held-out items of each kind, the first in file order; None: all


@dataclass(frozen=True)
class Judge:
    endpoint: EndpointConfig  # TWAINLORA_JUDGE_BASE_URL / _MODEL override it
    samples: int  # judged answers per model
    cache_dir: str


@dataclass(frozen=True)
class Params:
    profile: str
    profiles: dict[str, Profile]
    max_new_tokens: dict[str, int]  # style, tool, examples
    classifier: style.ClassifierParams
    toxicity_threshold: float
    copy_ngram: int
    spot_check_per_model: int
    judge: Judge
    seed: int

    def __post_init__(self):
        if self.profile not in self.profiles:
            raise ValueError(f"profile {self.profile!r} is not among {sorted(self.profiles)}")
        if set(self.max_new_tokens) != set(prompts.GROUPS):
            raise ValueError(f"max_new_tokens needs exactly: {', '.join(prompts.GROUPS)}")
        if not 0.0 < self.toxicity_threshold <= 1.0:
            raise ValueError("toxicity_threshold must be within (0, 1]")


def read_ratings() -> dict[str, dict]:
    try:
        return review.read_ratings(RATINGS)
    except review.RatingsError as e:
        raise SystemExit(f"evaluate: {e}") from None


def judge(params: Judge, items: list, answers: dict[str, list[str]], seed: int):
    from twainlora.sft.generators import GenerationError

    conversations = [i.messages for i in items]
    try:
        return review.judge_models(
            params.endpoint, params.cache_dir, params.samples, seed, conversations, answers
        )
    except GenerationError as e:
        raise SystemExit(f"evaluate: the judge failed: {e}") from None


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("evaluate", Params)
    served = load_params("serve", ServeParams)  # its engine and parallel_tool_calls only
    start = time.perf_counter()
    splits = {name: list(read_jsonl(path)) for name, path in SPLITS.items()}
    # Read every input before minutes of generation: a bad rating fails now.
    ratings = read_ratings()
    train_metrics = {n: json.loads(p.read_text("utf-8")) for n, p in TRAIN_METRICS.items()}

    tagged = list(read_jsonl(TAGGED))
    groups = prompts.prompt_sets(
        read_jsonl(HELDOUT_STYLE),
        read_jsonl(HELDOUT_TOOL),
        params.profiles[params.profile].per_kind,
    )
    log.info("%s", {name: len(items) for name, items in groups.items()})
    engine = answers.load_engine(BASE, ADAPTERS, served.engine)
    decoding = answers.Decoding.served(served)
    texts, stats = answers.answer_all(
        engine, MODELS, groups, params.max_new_tokens, decoding, ASKED
    )
    classifier, classifier_report, confusion = style.cross_fitted_classifier(
        params.classifier, splits, tagged, [i.id for i in groups["style"]],
        texts[scorecard.BASE]["style"],
    )  # fmt: skip
    log.info("style classifier: %s", {k: classifier_report[k] for k in ("accuracy", "macro_f1")})

    # Judged and spot-checked: the style and tool answers (the style adapter's: style only);
    # the examples are for reading.
    items = groups["style"] + groups["tool"]
    pooled = {m: texts[m]["style"] + texts[m].get("tool", []) for m in MODELS}
    judged, judge_requests = judge(params.judge, items, pooled, params.seed)
    rows = review.spot_check_rows(items, pooled, params.spot_check_per_model, params.seed, ratings)
    metrics = scorecard.assemble(
        groups, texts, classifier, classifier_report, style.train_answers(splits), train_metrics, judged,
        judge_requests, rows, ratings, params.toxicity_threshold, params.copy_ngram,
    )  # fmt: skip
    metrics["run"] = {
        "profile": params.profile,
        "style_prompts": len(groups["style"]),
        "tool_items": len(groups["tool"]),
        "decoding": {**decoding.describe(), "max_new_tokens": params.max_new_tokens},
        **stats.summary(),
        "wall_seconds": round(time.perf_counter() - start),
        # Every thread's CPU time: unlike the wall time, it does not grow when a neighbour's
        # job shares the cores.
        "cpu_seconds": round(time.process_time()),
    }

    write_json(METRICS, metrics)
    outputs = {
        CONFUSION: scorecard.csv_text(["actual", "predicted"], confusion),
        BARS: scorecard.csv_text(["bar", "model", "value"], scorecard.bar_rows(metrics, MODELS)),
        EXAMPLES: review.examples_markdown({m: texts[m]["examples"] for m in MODELS}),
        SPOT_CHECK: review.spot_check_csv(rows),
    }
    for path, text in outputs.items():
        with atomic_open(path) as f:
            f.write(text)
    log.info(
        "done in %d s: %s", metrics["run"]["wall_seconds"], scorecard.bar_rows(metrics, MODELS)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
