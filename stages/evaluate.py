"""Evaluate the base model and both adapters on the same held-out data, so that every number
comes with its delta against the base model.

    python stages/evaluate.py

Loads models/base once with models/adapters/{style,style_tool} as named PEFT adapters and
generates greedily, batched, for three prompt sets (sizes: the `evaluate.profile`): style
prompts from eval_style, tool-use turns cut from eval_tool (twainlora/eval/evaluation.py:
tool_points), and ten fixed example prompts. Then:
  style       a fastText classifier (twain / franklin / other authors / satire headlines /
              neutral) trained on the train split (+ contrast authors from data/tagged),
              scored on the eval split, applied to the style answers
  tool        parseable call, JSON, name, required args, args match, schema; abstention;
              groundedness of answers to tool results
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
  metrics/eval.json           per model, with delta_vs_base for the adapters
  plots/eval_confusion.csv    the classifier's eval predictions (actual, predicted)
  plots/eval_models.csv       headline numbers per model, for bars
  reports/examples.md         the fixed prompts' answers side by side
  reports/spot_check.csv      30 sampled conversations per model, rating columns empty
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.endpoint import EndpointConfig
from twainlora.core.jsonl import atomic_open, read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.eval import evaluation as ev
from twainlora.eval import review

log = logging.getLogger("evaluate")

BASE = Path("models/base")
ADAPTERS = {
    "style": Path("models/adapters/style"),
    "style_tool": Path("models/adapters/style_tool"),
}
MODELS = ("base", *ADAPTERS)
SPLITS = {
    "train_style": Path("data/splits/train_style.jsonl"),
    "eval_style": Path("data/splits/eval_style.jsonl"),
    "train_tool": Path("data/splits/train_tool.jsonl"),
    "eval_tool": Path("data/splits/eval_tool.jsonl"),
}
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
    style_prompts: int | None  # None: every eligible eval_style prompt
    tool_points: dict[str, int | None]  # per kind (evaluation.POINT_KINDS); None: all
    batch_size: int


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
    max_prompt_chars: int
    classifier: ev.ClassifierParams
    toxicity_threshold: float
    copy_ngram: int
    spot_check_per_model: int
    judge: Judge
    dtype: str
    threads: int
    seed: int

    def __post_init__(self):
        if self.profile not in self.profiles:
            raise ValueError(f"profile {self.profile!r} is not among {sorted(self.profiles)}")
        for name, profile in self.profiles.items():
            if unknown := set(profile.tool_points) - set(ev.POINT_KINDS):
                raise ValueError(f"profiles.{name}.tool_points: unknown {sorted(unknown)}")
        if set(self.max_new_tokens) != {"style", "tool", "examples"}:
            raise ValueError("max_new_tokens needs exactly: style, tool, examples")
        if not 0.0 < self.toxicity_threshold <= 1.0:
            raise ValueError("toxicity_threshold must be within (0, 1]")


@dataclass(frozen=True)
class Item:
    """One prompt every model answers; `persona` is what a style prompt asks for."""

    id: str
    kind: str
    record_id: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...] = ()
    persona: str = ""
    point: ev.ToolPoint | None = None


def style_classifier(params: ev.ClassifierParams, splits: dict[str, list[dict]]):
    """Train on the train split's windows, report on the eval split's."""
    cp = params

    def examples(names):
        return [e for n in names for r in splits[n] for e in ev.sft_examples(r)]

    other_train, other_eval = ev.other_author_examples(
        read_jsonl(TAGGED), cp.holdout_other, cp.seed
    )

    def windowed(pairs):
        return ((lab, w) for lab, t in pairs for w in ev.windows(t, cp.window_words, cp.min_words))

    train = ev.balanced(
        windowed(examples(["train_style", "train_tool"]) + other_train), cp.max_per_label, cp.seed
    )
    held = ev.balanced(
        windowed(examples(["eval_style", "eval_tool"]) + other_eval), cp.max_eval_per_label, cp.seed
    )
    classifier = ev.StyleClassifier.train(train, cp)
    actual = [lab for lab, _ in held]
    predicted = classifier.predict([t for _, t in held])
    report = ev.classification_report(actual, predicted)
    report["train_windows"] = len(train)
    return classifier, report, list(zip(actual, predicted, strict=True))


def judge_scores(params: Judge, items: list[Item], answers: dict[str, list[str]], seed: int):
    """Per model, the judge's summary over a seeded sample of its answers; None when no
    endpoint is configured (the metrics then say so, and no score is made up)."""
    if not params.endpoint.resolved("judge").configured:
        return None, 0
    from twainlora.sft.generators import EndpointGenerator, GenerationError

    judge = EndpointGenerator(params.endpoint, params.cache_dir, seed, role="judge")
    chosen = ev.seeded_sample(range(len(items)), params.samples, seed)
    out = {}
    for model in MODELS:
        pairs = [(items[i].messages, answers[model][i]) for i in chosen]
        try:
            out[model] = review.judge_summary(review.run_judge(judge, pairs, key=model))
        except GenerationError as e:
            raise SystemExit(f"evaluate: the judge failed: {e}") from None
    return out, judge.requests


def read_ratings() -> dict[str, dict]:
    if not RATINGS.exists():
        return {}
    with open(RATINGS, encoding="utf-8", newline="") as f:
        try:
            return review.parse_ratings(csv.DictReader(f), str(RATINGS))
        except review.RatingsError as e:
            raise SystemExit(f"evaluate: {e}") from None


def write_spot_check(rows: list[dict]) -> None:
    with atomic_open(SPOT_CHECK) as f:
        writer = csv.DictWriter(f, fieldnames=review.SPOT_CHECK_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def bar_rows(metrics: dict) -> list[tuple[str, str, float]]:
    """(bar label, model, value) for the headline numbers, for `dvc plots`."""
    picks = [
        ("style", "twain_share"),
        ("style", "adherence"),
        ("tool", "parseable"),
        ("tool", "required_args"),
        ("tool", "args_match"),
        ("tool", "abstain_irrelevant"),
        ("tool", "grounded"),
        ("toxicity", "share_over_threshold"),
        ("copy", "copied_share"),
    ]
    rows = []
    for section, key in picks:
        for model in MODELS:
            value = metrics[model].get(section, {}).get(key)
            if value is not None:
                rows.append((f"{section}.{key} {model}", model, value))
    return rows


def prompt_sets(params: Params, splits: dict[str, list[dict]]) -> dict[str, list[Item]]:
    """The prompts every model answers: style, tool turns and the fixed examples."""
    profile = params.profiles[params.profile]
    style = [
        Item(r["id"], "style", r["id"], tuple(r["messages"][:-1]), persona=r["tags"]["persona"])
        for r in ev.style_prompts(
            splits["eval_style"], profile.style_prompts, params.seed, params.max_prompt_chars
        )
    ]
    points = ev.sample_points(
        [p for r in splits["eval_tool"] for p in ev.tool_points(r)],
        profile.tool_points,
        params.seed,
    )
    tool = [Item(p.id, p.kind, p.record_id, p.messages, p.tools, point=p) for p in points]
    examples = [
        Item(f"example:{k}", "example", f"example:{k}", messages, tools)
        for k, (_, messages, tools) in enumerate(review.EXAMPLES)
    ]
    return {"style": style, "tool": tool, "examples": examples}


def generate(params: Params, groups: dict[str, list[Item]]):
    """answers[model][group], in item order, and the generation stats."""
    from twainlora.serve import inference

    inference.configure_threads(params.threads)
    import torch

    torch.manual_seed(params.seed)
    model, tokenizer = inference.load(BASE, ADAPTERS, params.dtype)
    stats = inference.GenerationStats()
    answers: dict[str, dict[str, list[str]]] = {}
    for name in MODELS:
        answers[name] = {
            group: inference.generate(
                model,
                tokenizer,
                [inference.Conversation(i.messages, i.tools) for i in items],
                adapter=None if name == "base" else name,
                batch_size=params.profiles[params.profile].batch_size,
                max_new_tokens=params.max_new_tokens[group],
                stats=stats,
            )
            for group, items in groups.items()
        }
        log.info("%s: generated (%.1f tokens/s so far)", name, stats.tokens_per_s)
    return answers, stats


def copied_ngrams(params: Params, splits, texts: list[str]) -> set:
    """The generated n-grams that occur verbatim in the training answers."""
    n = params.copy_ngram
    wanted = {g for t in texts for g in ev.ngrams(t, n)}
    training = (
        t
        for name in ("train_style", "train_tool")
        for r in splits[name]
        for t in ev.assistant_texts(r)
    )
    return ev.copied_ngrams(wanted, training, n)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("evaluate", Params)
    start = time.perf_counter()
    splits = {name: list(read_jsonl(path)) for name, path in SPLITS.items()}
    # Read every input before minutes of generation: a bad rating fails now.
    ratings = read_ratings()
    train_metrics = {
        name: json.loads(path.read_text("utf-8")) for name, path in TRAIN_METRICS.items()
    }

    classifier, classifier_report, confusion = style_classifier(params.classifier, splits)
    log.info(
        "style classifier: accuracy %.3f, macro-F1 %.3f on %d eval windows",
        classifier_report["accuracy"],
        classifier_report["macro_f1"],
        len(confusion),
    )
    groups = prompt_sets(params, splits)
    log.info("%s", {name: len(items) for name, items in groups.items()})
    answers, stats = generate(params, groups)

    # Scored: the style and tool answers; the examples are for reading, but are checked for
    # toxicity and copying too.
    items = groups["style"] + groups["tool"]
    pooled = {m: answers[m]["style"] + answers[m]["tool"] for m in MODELS}
    plain = {m: [ev.without_calls(t) for t in pooled[m] + answers[m]["examples"]] for m in MODELS}
    copied = copied_ngrams(params, splits, [t for m in MODELS for t in plain[m]])
    metrics: dict = {name: {} for name in MODELS}
    for name in MODELS:
        texts = answers[name]["style"]
        metrics[name]["style"] = ev.style_adherence(
            [i.persona for i in groups["style"]], classifier.probabilities(texts), texts
        )
        metrics[name]["tool"] = ev.tool_metrics(
            [
                (i.kind, ev.score_point(text, i.point))
                for i, text in zip(groups["tool"], answers[name]["tool"], strict=True)
            ]
        )
        metrics[name]["toxicity"] = ev.toxicity_summary(
            ev.toxicity_probs(plain[name]), params.toxicity_threshold
        )
        metrics[name]["copy"] = ev.copy_summary(plain[name], copied, params.copy_ngram)

    base_toxicity = metrics["base"]["toxicity"]["share_over_threshold"]
    for name in MODELS[1:]:
        metrics[name]["overfit"] = {
            k: train_metrics[name][k]
            for k in ("train_loss", "eval_loss", "loss_gap", "base_eval_loss")
        }
        toxicity = metrics[name]["toxicity"]["share_over_threshold"]
        metrics[name]["toxicity"]["not_above_base"] = toxicity <= base_toxicity
        if toxicity > base_toxicity:
            log.warning(
                "%s: toxicity %.4f is above the base model's %.4f", name, toxicity, base_toxicity
            )

    judged, judge_requests = judge_scores(params.judge, items, pooled, params.seed)
    if judged:
        for name in MODELS:
            metrics[name]["judge"] = judged[name]

    spot = ev.seeded_sample(range(len(items)), params.spot_check_per_model, params.seed)
    rows = [
        review.spot_check_row(
            name,
            items[k].id,
            items[k].record_id,
            items[k].kind,
            items[k].messages,
            pooled[name][k],
            ratings,
        )
        for name in MODELS
        for k in spot
    ]
    for name in MODELS:
        ids = [r["id"] for r in rows if r["model"] == name]
        metrics[name]["spot_check"] = review.ratings_summary(ratings, ids)
    current = {r["id"] for r in rows}

    for name in MODELS[1:]:
        compared = ("style", "tool", "toxicity", "copy", "judge")
        metrics[name]["delta_vs_base"] = ev.delta(
            {k: metrics[name][k] for k in compared if k in metrics[name]}, metrics["base"]
        )
    metrics["classifier"] = classifier_report
    metrics["judge"] = (
        {"samples_per_model": metrics["base"]["judge"]["n"], "requests_sent": judge_requests}
        if judged
        else "not configured"
    )
    metrics["spot_check"] = {
        "rows": len(rows),
        "rated_rows": sum(1 for i in ratings if i in current),
        "stale_ratings": sum(1 for i in ratings if i not in current),
    }
    metrics["run"] = {
        "profile": params.profile,
        "style_prompts": len(groups["style"]),
        "tool_points": len(groups["tool"]),
        "generated_tokens": stats.new_tokens,
        "tokens_per_s": round(stats.tokens_per_s, 1),
        "wall_seconds": round(time.perf_counter() - start),
        # Both threads' CPU time: unlike the wall time, it does not grow when a neighbour's
        # job shares the two cores.
        "cpu_seconds": round(time.process_time()),
    }

    write_json(METRICS, metrics)
    with atomic_open(CONFUSION) as f:
        f.write("actual,predicted\n" + "".join(f"{a},{p}\n" for a, p in confusion))
    with atomic_open(BARS) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["bar", "model", "value"])
        writer.writerows(bar_rows(metrics))
    with atomic_open(EXAMPLES) as f:
        f.write(review.examples_markdown({m: answers[m]["examples"] for m in MODELS}))
    write_spot_check(rows)
    for name in MODELS:
        log.info(
            "%s: style %s | tool %s | toxicity %s",
            name,
            metrics[name]["style"],
            {k: v for k, v in metrics[name]["tool"].items() if not k.startswith("n_")},
            metrics[name]["toxicity"]["share_over_threshold"],
        )
    log.info("done in %d s", metrics["run"]["wall_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
