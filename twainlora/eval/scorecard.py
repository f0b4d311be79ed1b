"""metrics/eval.json and its bar chart from the models' answers: per model the style (voice by
persona and framing, degeneration), tool-decision, toxicity and copying numbers, rates with
their 95% intervals, then the adapters against the base model (deltas, training losses,
toxicity not above the base's)."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence

from twainlora.eval import decisions, safety, style, tools
from twainlora.eval.compare import delta
from twainlora.eval.prompts import Item

log = logging.getLogger("twainlora.eval.scorecard")

BASE = "base"
# The train stage's numbers an adapter's metrics repeat, to read overfitting next to them.
OVERFIT_KEYS = ("train_loss", "eval_loss", "loss_gap", "base_eval_loss")
COMPARED = ("style", "tool", "toxicity", "copy", "judge")


def plain_answers(groups: dict[str, list[Item]], answers: dict[str, list[str]]) -> list[str]:
    """One model's answers, all groups, as a reader gets them: calls taken out. The examples
    are for reading, but are checked for toxicity and copying too."""
    return [
        tools.plain_text(text, tools.tool_names(item.tools) if item.tools else None)
        for group, items in groups.items()
        if group in answers
        for item, text in zip(items, answers[group], strict=True)
    ]


def score_models(
    groups: dict[str, list[Item]],
    answers: dict[str, dict[str, list[str]]],
    classifier,
    training_texts: Iterable[str],
    toxicity_threshold: float,
    copy_ngram: int,
) -> dict[str, dict]:
    """Per model: the voice and degeneration of the style answers, the tool decisions of the
    tool answers (of a model asked the tool items), toxicity and copied n-grams of every
    answer."""
    plain = {model: plain_answers(groups, by_group) for model, by_group in answers.items()}
    wanted = {g for texts in plain.values() for t in texts for g in safety.ngrams(t, copy_ngram)}
    copied = safety.copied_ngrams(wanted, training_texts, copy_ngram)
    metrics: dict[str, dict] = {}
    for model, by_group in answers.items():
        texts = by_group["style"]
        requested = [(i.persona, i.framing) for i in groups["style"]]
        metrics[model] = {
            "style": {
                **style.style_scores(requested, classifier.probabilities(texts), texts),
                "degeneration": decisions.degeneration(texts),
            },
        }
        if "tool" in by_group:
            metrics[model]["tool"] = decisions.decision_metrics(
                [i.decision() for i in groups["tool"]], by_group["tool"]
            )
        metrics[model]["toxicity"] = safety.toxicity_summary(
            safety.toxicity_probs(plain[model]), toxicity_threshold
        )
        metrics[model]["copy"] = safety.copy_summary(plain[model], copied, copy_ngram)
    return metrics


def against_base(metrics: dict[str, dict], train_metrics: dict[str, dict]) -> None:
    """Adds to each adapter's metrics (every model but BASE) its training losses and whether
    its toxicity is not above the base model's."""
    base_toxicity = metrics[BASE]["toxicity"]["share_over_threshold"]
    for model in metrics:
        if model == BASE:
            continue
        metrics[model]["overfit"] = {k: train_metrics[model][k] for k in OVERFIT_KEYS}
        toxicity = metrics[model]["toxicity"]["share_over_threshold"]
        metrics[model]["toxicity"]["not_above_base"] = toxicity <= base_toxicity
        if toxicity > base_toxicity:
            log.warning(
                "%s: toxicity %.4f is above the base model's %.4f", model, toxicity, base_toxicity
            )


def add_deltas(metrics: dict[str, dict]) -> None:
    """delta_vs_base for each adapter; call after every compared section is in."""
    for model in metrics:
        if model != BASE:
            metrics[model]["delta_vs_base"] = delta(
                {k: metrics[model][k] for k in COMPARED if k in metrics[model]}, metrics[BASE]
            )


BAR_PICKS = (
    ("style", "twain_share"),
    ("style", "franklin_share"),
    ("tool", "calls_when_it_should"),
    ("tool", "right_function_and_arguments"),
    ("tool", "no_call_when_unrelated"),
    ("tool", "asks_for_missing_place"),
    ("tool", "no_call_after_result"),
    ("tool", "answer_grounded_in_result"),
    ("toxicity", "share_over_threshold"),
    ("copy", "copied_share"),
)


def bar_rows(metrics: dict, models: Sequence[str]) -> list[tuple[str, str, float]]:
    """(bar label, model, value) for the headline numbers, for `dvc plots`: a rate's value."""
    rows = []
    for section, key in BAR_PICKS:
        for model in models:
            value = metrics[model].get(section, {}).get(key)
            if isinstance(value, dict):
                value = value["rate"]
            if value is not None:
                rows.append((f"{section}.{key} {model}", model, value))
    return rows


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def assemble(
    groups: dict[str, list[Item]],
    answers: dict[str, dict[str, list[str]]],
    classifier,
    classifier_report: dict,
    training_texts: Iterable[str],
    train_metrics: dict[str, dict],
    judged: dict[str, dict] | None,
    judge_requests: int,
    spot_rows: Sequence[dict],
    ratings: dict[str, dict],
    toxicity_threshold: float,
    copy_ngram: int,
) -> dict:
    """metrics/eval.json but its `run` section: per model (style, tool, toxicity, copy,
    judge, spot_check; the adapters' overfit and delta_vs_base), then the classifier's report
    and what the judge and the spot checks cover."""
    from twainlora.eval import review

    metrics = score_models(
        groups, answers, classifier, training_texts, toxicity_threshold, copy_ngram
    )
    against_base(metrics, train_metrics)
    for model in answers:
        if judged:
            metrics[model]["judge"] = judged[model]
        ids = [r["id"] for r in spot_rows if r["model"] == model]
        metrics[model]["spot_check"] = review.ratings_summary(ratings, ids)
    add_deltas(metrics)
    metrics["classifier"] = classifier_report
    metrics["judge"] = (
        {"samples_per_model": judged[BASE]["n"], "requests_sent": judge_requests}
        if judged
        else "not configured"
    )
    metrics["spot_check"] = review.spot_check_summary(spot_rows, ratings)
    return metrics
