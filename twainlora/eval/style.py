"""Style: a fastText classifier of who wrote a text (Twain, Franklin, other authors, satire
headlines, neutral assistant prose), trained on the train split and scored on the eval split,
then applied to each model's answers to held-out style prompts."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from twainlora.core.seeded import seeded_unit
from twainlora.data.fasttext_classifier import FastTextClassifier, settings_of
from twainlora.eval.compare import mean, rate, share

LABELS = ("twain", "franklin", "other", "satire", "neutral")
PERSONA_AUTHORS = {"Mark Twain", "Benjamin Franklin"}


def assistant_texts(record: dict) -> list[str]:
    return [
        m["content"]
        for m in record["messages"]
        if m["role"] == "assistant" and m.get("content") and not m.get("tool_calls")
    ]


def train_answers(splits: dict[str, list[dict]]) -> Iterator[str]:
    """Every assistant answer of the train splits: what generated text must not copy."""
    for name in ("train_style", "train_tool"):
        for record in splits[name]:
            yield from assistant_texts(record)


def sft_examples(record: dict) -> list[tuple[str, str]]:
    """(label, text) pairs an SFT record gives the classifier, from its tags: the real
    passages and maxims of the two personas, the Reddit headlines (r/TheOnion and
    r/nottheonion: the humor template's answers, satire by design or by selection), and the
    neutral persona's plain assistant turns in tool episodes. Everything else (synthetic
    imitations, safety refusals) would blur the labels and gives none."""
    tags = record["tags"]
    texts = assistant_texts(record)
    if not texts:
        return []
    if (
        tags["source"] == "gutenberg"
        and tags["persona"] in ("twain", "franklin")
        and tags["template"] in ("style_imitation", "aphorism")
    ):
        return [(tags["persona"], texts[-1])]
    if tags["source"] == "reddit" and tags["template"] == "humor":
        return [("satire", texts[-1])]
    if (
        tags["persona"] == "neutral"
        and tags["source"] == "synthetic"
        and tags["template"].startswith("tool_")
    ):
        return [("neutral", t) for t in texts]
    return []


_CHUNK = re.compile(r"^(gutenberg:\d+:s\d+)c(\d+)$")


def other_author_examples(
    records: Iterable[dict], holdout: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, eval) chunks by the contrast authors, from the tagged records (the SFT splits
    hold none). A seeded `holdout` of chunks is eval; train leaves out the neighbours of an
    eval chunk, since adjacent chunks share 128-256 tokens."""
    chunks = [
        (r["id"], r["text"])
        for r in records
        if r["source"] == "gutenberg" and r["meta"].get("author") not in PERSONA_AUTHORS
    ]
    is_eval = {cid: seeded_unit(seed, cid) < holdout for cid, _ in chunks}

    def near_eval(cid: str) -> bool:
        m = _CHUNK.match(cid)
        if not m:
            return False
        passage, c = m.group(1), int(m.group(2))
        return any(is_eval.get(f"{passage}c{n:03d}") for n in (c - 1, c + 1))

    train = [("other", t) for cid, t in chunks if not is_eval[cid] and not near_eval(cid)]
    held = [("other", t) for cid, t in chunks if is_eval[cid]]
    return train, held


def windows(text: str, size: int, min_words: int) -> list[str]:
    """Word windows of `size`: generations are a few sentences, passages ~400 words."""
    words = text.split()
    pieces = [words[i : i + size] for i in range(0, len(words), size)]
    return [" ".join(p) for p in pieces if len(p) >= min_words]


def balanced(examples: Iterable[tuple[str, str]], cap: int, seed: int) -> list[tuple[str, str]]:
    """At most `cap` distinct texts per label (a seeded choice), in a seeded order."""
    by_label: dict[str, set[str]] = defaultdict(set)
    for label, text in examples:
        by_label[label].add(text)
    out = []
    for label in sorted(by_label):
        texts = sorted(by_label[label], key=lambda t: seeded_unit(seed, t))
        out += [(label, t) for t in texts[:cap]]
    return sorted(out, key=lambda e: seeded_unit(seed, e[0] + e[1]))


@dataclass(frozen=True)
class ClassifierParams:
    window_words: int
    min_words: int
    max_per_label: int  # balances the labels (Twain passages outnumber the neutral turns 10:1)
    max_eval_per_label: int
    holdout_other: float  # contrast-author chunks held out for eval
    epoch: int
    lr: float
    word_ngrams: int
    dim: int
    seed: int


def classification_report(actual: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy, macro-F1 over the labels present, and F1 and support per label."""
    f1, support = {}, Counter(actual)
    for label in LABELS:
        tp = sum(a == p == label for a, p in zip(actual, predicted, strict=True))
        n_pred = sum(p == label for p in predicted)
        if support[label] or n_pred:
            precision = tp / n_pred if n_pred else 0.0
            recall = tp / support[label] if support[label] else 0.0
            f = 2 * precision * recall / (precision + recall) if tp else 0.0
            f1[label] = round(f, 4)
    return {
        "accuracy": share([a == p for a, p in zip(actual, predicted, strict=True)]),
        "macro_f1": mean(list(f1.values())),
        "f1": f1,
        "support": {label: support[label] for label in LABELS if support[label]},
    }


def train_style_classifier(
    params: ClassifierParams,
    splits: dict[str, list[dict]],
    tagged: Iterable[dict],
    extra_train: Sequence[tuple[str, str]] = (),
    extra_eval: Sequence[tuple[str, str]] = (),
) -> tuple[FastTextClassifier, dict, list[tuple[str, str]]]:
    """(classifier, its report on the eval windows, (actual, predicted) per eval window):
    trained on the train splits' windows (+ contrast authors from the tagged records, +
    extra_train), reported on the eval splits' (+ extra_eval)."""

    def examples(names):
        return [e for n in names for r in splits[n] for e in sft_examples(r)]

    other_train, other_eval = other_author_examples(tagged, params.holdout_other, params.seed)

    def windowed(pairs):
        return (
            (label, w)
            for label, text in pairs
            for w in windows(text, params.window_words, params.min_words)
        )

    train = balanced(
        windowed(examples(["train_style", "train_tool"]) + other_train + list(extra_train)),
        params.max_per_label,
        params.seed,
    )
    held = balanced(
        windowed(examples(["eval_style", "eval_tool"]) + other_eval + list(extra_eval)),
        params.max_eval_per_label,
        params.seed,
    )
    classifier = FastTextClassifier.train(train, **settings_of(params))
    actual = [label for label, _ in held]
    predicted = classifier.predict([t for _, t in held])
    report = classification_report(actual, predicted)
    report["train_windows"] = len(train)
    return classifier, report, list(zip(actual, predicted, strict=True))


class CrossFitted:
    """Two classifiers, each trained with the base model's replies to one half of the style
    prompts (fold 0 or 1) in its neutral class; a reply to a prompt is scored by the one that
    never saw the base model's reply to that prompt."""

    def __init__(self, classifiers: Sequence[FastTextClassifier], folds: Sequence[int]):
        self.classifiers, self.folds = list(classifiers), list(folds)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per reply, in the style prompts' order (one reply per prompt)."""
        if len(texts) != len(self.folds):
            raise ValueError(f"{len(texts)} replies for {len(self.folds)} style prompts")
        out: list[dict[str, float]] = [{} for _ in texts]
        for k, classifier in enumerate(self.classifiers):
            rows = [i for i, fold in enumerate(self.folds) if fold != k]
            for i, p in zip(rows, classifier.probabilities([texts[i] for i in rows]), strict=True):
                out[i] = p
        return out


def prompt_folds(prompt_ids: Sequence[str], seed: int) -> list[int]:
    """A seeded half of the prompts in fold 0 (the larger half when odd), the rest in fold 1."""
    ranked = sorted(
        range(len(prompt_ids)), key=lambda i: seeded_unit(seed, f"fold:{prompt_ids[i]}")
    )
    folds = [1] * len(prompt_ids)
    for i in ranked[: (len(prompt_ids) + 1) // 2]:
        folds[i] = 0
    return folds


def cross_fitted_classifier(
    params: ClassifierParams,
    splits: dict[str, list[dict]],
    tagged: Sequence[dict],
    prompt_ids: Sequence[str],
    base_replies: Sequence[str],
) -> tuple[CrossFitted, dict, list[tuple[str, str]]]:
    """The style classifier whose neutral class (plain assistant prose) also holds the base
    model's own replies to the held-out style prompts, cross-fitted (CrossFitted): without
    them the only modern prose in the data was the neutral persona's short tool turns, and
    the classifier called 81% of the base model's replies to Twain prompts Twain, so "more
    Twain than the base" could not be measured. Each fold's classifier is reported on the
    eval windows plus the other fold's base replies; the report and confusion pairs are fold
    0's, with both folds' reply counts."""
    folds = prompt_folds(prompt_ids, params.seed)
    classifiers, reports, confusions = [], [], []
    for k in (0, 1):
        mine = [("neutral", t) for t, f in zip(base_replies, folds, strict=True) if f == k]
        other = [("neutral", t) for t, f in zip(base_replies, folds, strict=True) if f != k]
        classifier, report, confusion = train_style_classifier(params, splits, tagged, mine, other)
        classifiers.append(classifier)
        reports.append(report)
        confusions.append(confusion)
    report = {
        **reports[0],
        "base_replies_per_fold": [folds.count(0), folds.count(1)],
        "fold_1_accuracy": reports[1]["accuracy"],
    }
    return CrossFitted(classifiers, folds), report, confusions[0]


def style_scores(
    requested: Sequence[tuple[str, str]],
    probabilities: Sequence[dict[str, float]],
    texts: Sequence[str],
) -> dict:
    """For the personas with a voice (twain, franklin): the share of replies to prompts asking
    for it that the classifier assigns to it, with its 95% interval, and that share per framing
    of the prompt (`requested`: (persona, framing) per reply); over all replies, the share
    assigned to the persona asked for and its mean probability. An empty reply has no style:
    it counts as a miss."""
    hits, probs = [], []
    by_persona: dict[str, list[bool]] = defaultdict(list)
    by_framing: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for (persona, framing), p, text in zip(requested, probabilities, texts, strict=True):
        ok = bool(text.strip()) and max(p, key=p.get) == persona
        hits.append(ok)
        probs.append(p.get(persona, 0.0) if text.strip() else 0.0)
        by_persona[persona].append(ok)
        by_framing[persona][framing].append(ok)
    out = {"n": len(hits), "adherence": rate(hits), "mean_prob": mean(probs)}
    for persona in ("twain", "franklin"):
        if by_persona[persona]:
            framings = by_framing[persona]
            out[f"{persona}_share"] = {
                **rate(by_persona[persona]),
                "by_framing": {f: rate(framings[f])["rate"] for f in sorted(framings)},
            }
    return out
