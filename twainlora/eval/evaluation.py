"""Evaluation of the base model and its adapters: pure functions over texts and records.

- Style: a fastText classifier of who wrote a text (Twain, Franklin, other authors, satire
  headlines, neutral assistant prose), trained on the train split and scored on the eval
  split, then applied to each model's answers to held-out style prompts.
- Tool use: evaluation points cut from eval_tool conversations (the turn to generate and what
  the gold turn did there), and scores for a generated turn: a parseable call, the right
  function, required and correct arguments, schema validity; no call when the place is
  missing or the request is unrelated; a final answer that invents no number or condition.
- Toxicity (alt-profanity-check) and verbatim copying of training 8-grams.
The LLM judge, human spot checks and the side-by-side examples are in twainlora/eval/review.py.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twainlora.core.seeded import seeded_unit
from twainlora.core.sft import ungrounded_numbers
from twainlora.domain.weather import DATE_KEYS, LOCATION_KEYS, fold

LABELS = ("twain", "franklin", "other", "satire", "neutral")
PERSONA_AUTHORS = {"Mark Twain", "Benjamin Franklin"}


def share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


# --- style classifier ---------------------------------------------------------------------


def assistant_texts(record: dict) -> list[str]:
    return [
        m["content"]
        for m in record["messages"]
        if m["role"] == "assistant" and m.get("content") and not m.get("tool_calls")
    ]


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


def ft_text(text: str) -> str:
    """One line of lower-cased words and punctuation, as fastText reads it."""
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


class StyleClassifier:
    def __init__(self, model):
        self.model = model

    @classmethod
    def train(cls, examples: Sequence[tuple[str, str]], params: ClassifierParams):
        import tempfile
        from pathlib import Path

        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None  # its load-time warning
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "train.txt"
            path.write_text("".join(f"__label__{lab} {ft_text(t)}\n" for lab, t in examples))
            # thread=1: fastText's Hogwild updates are nondeterministic with several threads.
            model = fasttext.train_supervised(
                input=str(path),
                epoch=params.epoch,
                lr=params.lr,
                wordNgrams=params.word_ngrams,
                dim=params.dim,
                seed=params.seed,
                thread=1,
                verbose=0,
            )
        return cls(model)

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        labels, probs = self.model.predict([ft_text(t) for t in texts], k=-1)
        return [
            # fastText's softmax can exceed 1 by 1e-5
            {
                lab.removeprefix("__label__"): min(1.0, float(p))
                for lab, p in zip(ls, ps, strict=True)
            }
            for ls, ps in zip(labels, probs, strict=True)
        ]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [max(p, key=p.get) for p in self.probabilities(texts)]


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


def style_prompts(records: Sequence[dict], n: int | None, seed: int, max_chars: int) -> list:
    """Held-out style records whose system prompt asks for Twain or Franklin and whose request
    is at most `max_chars` long; round-robin over (template, persona) strata so that a small
    sample still covers imitation, maxims, jokes and refusals. n=None: all of them."""
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        tags = r["tags"]
        if (
            tags["persona"] in ("twain", "franklin")
            and r["messages"][-1]["role"] == "assistant"
            and len(r["messages"][-2].get("content") or "") <= max_chars
        ):
            strata[(tags["template"], tags["persona"])].append(r)
    queues = [sorted(strata[k], key=lambda r: seeded_unit(seed, r["id"])) for k in sorted(strata)]
    total = sum(len(q) for q in queues)
    chosen: list[dict] = []
    while len(chosen) < (total if n is None else min(n, total)):
        for q in queues:
            if q and (n is None or len(chosen) < n):
                chosen.append(q.pop(0))
    return chosen


def style_adherence(
    requested: Sequence[str], probabilities: Sequence[dict[str, float]], texts: Sequence[str]
) -> dict:
    """How often the classifier assigns an answer to the persona its prompt asked for, and
    that persona's mean probability. An empty answer has no style: it counts as a miss."""
    hits, probs = [], []
    by_persona: dict[str, list[bool]] = defaultdict(list)
    for persona, p, text in zip(requested, probabilities, texts, strict=True):
        ok = bool(text.strip()) and max(p, key=p.get) == persona
        hits.append(ok)
        probs.append(p.get(persona, 0.0) if text.strip() else 0.0)
        by_persona[persona].append(ok)
    out = {"n": len(hits), "adherence": share(hits), "mean_prob": mean(probs)}
    for persona in ("twain", "franklin"):
        if by_persona[persona]:
            out[f"{persona}_share"] = share(by_persona[persona])
    return out


# --- tool use -----------------------------------------------------------------------------

POINT_KINDS = ("call", "ask_location", "ask_date", "irrelevant", "answer_success", "answer_error")


@dataclass(frozen=True)
class ToolPoint:
    """One turn to generate in an eval_tool conversation, and what the gold turn did."""

    id: str
    kind: str  # one of POINT_KINDS
    record_id: str
    messages: tuple[dict, ...]  # the conversation before the turn
    tools: tuple[dict, ...]
    gold_call: dict | None = None  # kind "call": the gold tool call (OpenAI format)
    tool_result: str | None = None  # kinds "answer_*": the tool turn being answered


def is_error_result(content: str) -> bool:
    """An error object, or an answer without the weather in it (a broken payload)."""
    try:
        result = json.loads(content)
    except json.JSONDecodeError:
        return True
    return not isinstance(result, dict) or bool(result.get("error")) or "condition" not in result


def tool_points(record: dict) -> list[ToolPoint]:
    """Every assistant turn of a conversation that tests something: a call; a question back
    when the place (missing_location) or the day (absent_date) is missing; an answer to an
    unrelated request with the tools on offer; the answer to a tool result."""
    messages = record["messages"]
    case = record["tags"].get("case", "")
    tools = tuple(record.get("tools", []))
    any_call = any(m.get("tool_calls") for m in messages)
    points = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        gold_call = tool_result = None
        if m.get("tool_calls"):
            kind, gold_call = "call", m["tool_calls"][0]
        elif messages[i - 1]["role"] == "tool":
            tool_result = messages[i - 1]["content"]
            kind = "answer_error" if is_error_result(tool_result) else "answer_success"
        elif i + 1 < len(messages) and messages[i + 1]["role"] == "user":
            kind = {"missing_location": "ask_location", "absent_date": "ask_date"}.get(case)
        else:
            kind = None if any_call else "irrelevant"
        if kind:
            points.append(
                ToolPoint(
                    f"{record['id']}#{i}",
                    kind,
                    record["id"],
                    tuple(messages[:i]),
                    tools,
                    gold_call,
                    tool_result,
                )
            )
    return points


def sample_points(
    points: Sequence[ToolPoint], counts: dict[str, int | None], seed: int
) -> list[ToolPoint]:
    """Up to counts[kind] points of each kind (None: all), a seeded choice, in a fixed order."""
    out = []
    for kind in POINT_KINDS:
        pool = sorted((p for p in points if p.kind == kind), key=lambda p: seeded_unit(seed, p.id))
        out += pool if counts.get(kind, 0) is None else pool[: counts.get(kind, 0)]
    return out


_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S)


@dataclass(frozen=True)
class ParsedCall:
    json_valid: bool
    name: str | None = None
    arguments: dict | None = None


def parse_tool_calls(text: str) -> list[ParsedCall]:
    """The <tool_call> blocks of a generated turn (an unterminated last one included: a call
    cut off by the token limit is a broken call, not no call)."""
    calls = []
    for body in _CALL.findall(text):
        try:
            obj = json.loads(body.strip())
        except json.JSONDecodeError:
            calls.append(ParsedCall(False))
            continue
        if not isinstance(obj, dict):
            calls.append(ParsedCall(True))
            continue
        name = obj.get("name") if isinstance(obj.get("name"), str) else None
        arguments = obj.get("arguments")
        if isinstance(arguments, str):  # OpenAI's wire format: arguments as a JSON string
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                arguments = None
        calls.append(ParsedCall(True, name, arguments if isinstance(arguments, dict) else None))
    return calls


def without_calls(text: str) -> str:
    return _CALL.sub("", text).strip()


def normalize_location(text: str) -> list[str]:
    """'São Paulo,  Brazil' -> ['sao paulo', 'brazil']: case, accents and punctuation folded."""
    parts = [" ".join(re.sub(r"[^\w\s]", " ", fold(p)).split()) for p in text.split(",")]
    return [p for p in parts if p]


def locations_match(predicted, gold: str) -> bool:
    """The same place name, and qualifiers (region, country) that one side may omit but the
    two may not contradict: 'Taiyuan, China' matches 'taiyuan, shanxi, china'."""
    if not isinstance(predicted, str):
        return False
    p, g = normalize_location(predicted), normalize_location(gold)
    if not p or not g or p[0] != g[0]:
        return False
    return set(p[1:]) <= set(g[1:]) or set(g[1:]) <= set(p[1:])


def arguments_match(arguments: dict, gold: dict) -> bool:
    """Every gold argument present with the same value: the place normalized, the date
    exact, anything else (a unit) case-insensitively."""
    for key, value in gold.items():
        if key not in arguments:
            return False
        got = arguments[key]
        if key in LOCATION_KEYS:
            ok = locations_match(got, value)
        elif key in DATE_KEYS:
            ok = got == value
        else:
            ok = str(got).casefold() == str(value).casefold()
        if not ok:
            return False
    return True


def score_call(response: str, point: ToolPoint) -> dict[str, bool]:
    """The first call of a generated turn against the gold call; each check implies the
    ones before it, so every share is over all call points."""
    import jsonschema

    gold_name = point.gold_call["function"]["name"]
    gold_args = json.loads(point.gold_call["function"]["arguments"])
    schema = next(t["function"] for t in point.tools if t["function"]["name"] == gold_name)
    calls = parse_tool_calls(response)
    first = calls[0] if calls else None
    parseable = bool(first and first.name is not None and first.arguments is not None)
    right_name = parseable and first.name == gold_name
    args = first.arguments if right_name else {}
    params = schema["parameters"]
    return {
        "emitted": first is not None,
        "json_valid": bool(first and first.json_valid),
        "parseable": parseable,
        "right_name": right_name,
        "required_args": right_name and all(k in args for k in params.get("required", [])),
        "args_match": right_name and arguments_match(args, gold_args),
        "schema_valid": right_name
        and not any(jsonschema.Draft202012Validator(params).iter_errors(args)),
    }


def score_abstention(response: str, point: ToolPoint) -> dict[str, bool]:
    """No call, and some text: a question back or a plain answer. Without a place or a day
    that text must not state the weather either, neither a condition nor a number the
    conversation did not give (a forecast for nowhere); an answer to an unrelated question
    may mention snow ("why is there snow in winter?")."""
    no_call = not _CALL.search(response)
    text = response.strip()
    abstained = no_call and bool(text)
    if point.kind in ("ask_location", "ask_date"):
        given = {"conversation": conversation_text(point.messages)}
        abstained = (
            abstained and not condition_families(text) and not ungrounded_numbers(text, given)
        )
    return {"no_call": no_call, "abstained": abstained}


# Weather conditions an answer can state, by family; a family is allowed when the tool
# result's condition names it ("Light Snow Showers": snow and rain).
CONDITION_TERMS = {
    "sun": ("sunny", "sunshine", "clear sky", "clear skies", "cloudless"),
    "cloud": ("cloudy", "clouds", "overcast"),
    "fog": ("fog", "foggy", "mist", "misty"),
    "rain": ("rain", "rainy", "raining", "rainfall", "drizzle", "shower", "showers", "downpour"),
    "snow": ("snow", "snowy", "snowing", "snowfall", "sleet", "flurries", "blizzard"),
    "storm": ("thunderstorm", "thunderstorms", "thunder", "lightning", "storm", "storms", "stormy"),
    "hail": ("hail",),
}
_CONDITION = {
    family: re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\b", re.IGNORECASE)
    for family, terms in CONDITION_TERMS.items()
}


def condition_families(text: str) -> set[str]:
    return {family for family, pattern in _CONDITION.items() if pattern.search(text)}


def answer_problems(answer: str, tool_result: str) -> list[str]:
    """Why an answer to a tool result is not grounded: every number and weather condition it
    states must appear in the result, so after an error it states none (the error's own
    numbers aside); another call or an empty turn is no answer."""
    problems = []
    if _CALL.search(answer):
        problems.append("calls a tool instead of answering")
    if "<tool_response>" in answer:
        problems.append("echoes a tool response instead of answering")
    text = without_calls(answer)
    if not text:
        return problems + ["no answer"]
    try:
        result = json.loads(tool_result)
    except json.JSONDecodeError:
        result = tool_result
    if numbers := ungrounded_numbers(text, result):
        problems.append(f"numbers not in the tool result: {numbers}")
    stated = str(result.get("condition") or "") if isinstance(result, dict) else ""
    if invented := sorted(condition_families(text) - condition_families(stated)):
        problems.append(f"conditions not in the tool result: {invented}")
    return problems


def score_point(response: str, point: ToolPoint) -> dict[str, bool]:
    """The checks that apply to the point's kind."""
    if point.kind == "call":
        return score_call(response, point)
    if point.kind.startswith("answer_"):
        return {"grounded": not answer_problems(response, point.tool_result)}
    return score_abstention(response, point)


def tool_metrics(scored: Sequence[tuple[str, dict]]) -> dict:
    """Shares per check over the points of the kinds it applies to."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for kind, scores in scored:
        by_kind[kind].append(scores)
    out: dict = {"n_points": len(scored)}
    calls = by_kind["call"]
    if calls:
        out["n_calls"] = len(calls)
        for check in (
            "emitted",
            "json_valid",
            "parseable",
            "right_name",
            "required_args",
            "args_match",
            "schema_valid",
        ):
            out[check] = share([s[check] for s in calls])
    for kind, name in (
        ("ask_location", "abstain_missing_location"),
        ("ask_date", "ask_missing_date"),
        ("irrelevant", "abstain_irrelevant"),
    ):
        if by_kind[kind]:
            out[name] = share([s["abstained"] for s in by_kind[kind]])
    abstain = by_kind["ask_location"] + by_kind["ask_date"] + by_kind["irrelevant"]
    if abstain:
        out["false_call_rate"] = share([not s["no_call"] for s in abstain])
    answers = by_kind["answer_success"] + by_kind["answer_error"]
    if answers:
        out["grounded"] = share([s["grounded"] for s in answers])
    if by_kind["answer_success"]:
        out["grounded_success"] = share([s["grounded"] for s in by_kind["answer_success"]])
    if by_kind["answer_error"]:
        out["no_invention_on_error"] = share([s["grounded"] for s in by_kind["answer_error"]])
    return out


# --- toxicity and copying -----------------------------------------------------------------


def toxicity_probs(texts: Sequence[str]) -> list[float]:
    """alt-profanity-check's probability per text (its linear model ships in the wheel)."""
    if not texts:
        return []
    from profanity_check import predict_prob

    return [float(p) for p in predict_prob(list(texts))]


def toxicity_summary(probs: Sequence[float], threshold: float) -> dict:
    return {
        "n": len(probs),
        "share_over_threshold": share([p >= threshold for p in probs]),
        "mean_prob": mean(probs),
        "max_prob": round(max(probs), 4) if probs else None,
    }


_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def copied_ngrams(
    wanted: set[tuple[str, ...]], training_texts: Iterable[str], n: int
) -> set[tuple[str, ...]]:
    """The n-grams of `wanted` that occur in the training texts. Only the generated n-grams
    are kept in memory, not the training set's millions."""
    found = set()
    for text in training_texts:
        found.update(g for g in ngrams(text, n) if g in wanted)
    return found


def copy_summary(texts: Sequence[str], copied: set[tuple[str, ...]], n: int) -> dict:
    grams = [g for t in texts for g in ngrams(t, n)]
    return {f"ngrams_{n}": len(grams), "copied_share": share([g in copied for g in grams])}


# --- conversations ----------------------------------------------------------------------


def conversation_text(messages: Sequence[dict]) -> str:
    lines = []
    for m in messages:
        if m.get("tool_calls"):
            f = m["tool_calls"][0]["function"]
            lines.append(f"assistant: [calls {f['name']} with {f['arguments']}]")
        else:
            lines.append(f"{m['role']}: {m.get('content') or ''}")
    return "\n".join(lines)


# --- comparison ---------------------------------------------------------------------------


def _is_count(key: str) -> bool:
    return key in ("n", "rated", "unparsed") or key.startswith(("n_", "ngrams_"))


def delta(metrics: dict, base: dict) -> dict:
    """metrics - base for every number both have (counts aside), nested like the input."""
    out = {}
    for key, value in metrics.items():
        other = base.get(key)
        if isinstance(value, dict) and isinstance(other, dict):
            if sub := delta(value, other):
                out[key] = sub
        elif (
            not _is_count(key)
            and isinstance(value, int | float)
            and isinstance(other, int | float)
            and not isinstance(value, bool)
        ):
            out[key] = round(value - other, 4)
    return out


def seeded_sample(items: Sequence, n: int, seed: int) -> list:
    """n items (all if fewer), a seeded choice, in their original order."""
    chosen = set(random.Random(seed).sample(range(len(items)), min(n, len(items))))
    return [item for i, item in enumerate(items) if i in chosen]
