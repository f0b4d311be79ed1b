"""Tool use: evaluation points cut from eval_tool conversations (the turn to generate and what
the gold turn did there), and scores for a generated turn: a call, the right function,
required and correct arguments, schema validity; no call when the place is missing or the
request is unrelated; a final answer that invents no number or condition.

A generated turn is read with twainlora.core.toolcalls, the parser the server answers with,
and with the names of the tools on offer, as the server reads it: a call counts exactly when
the server would return it as a tool call. A `<tool_call>` the server would hand back as text
(malformed, naming no offered tool, or cut off by the token limit) still counts as emitted:
a broken call is not no call.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twainlora.core.seeded import seeded_unit
from twainlora.core.sft import ungrounded_numbers
from twainlora.core.toolcalls import CLOSE, OPEN, ToolCall, ToolCallStream
from twainlora.domain.weather import DATE_KEYS, LOCATION_KEYS, fold
from twainlora.eval.compare import share

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


# --- reading a generated turn ---------------------------------------------------------------


def tool_names(tools: Iterable[dict]) -> frozenset[str]:
    return frozenset(t["function"]["name"] for t in tools)


def first_call(text: str, names: frozenset[str] | None) -> ToolCall | str | None:
    """The turn's first call: a ToolCall where the server would return one, else the body of
    the first `<tool_call>` it would hand back as text (a broken call), else None."""
    stream = ToolCallStream(names)
    for event in stream.feed(text) + stream.close():
        if isinstance(event, ToolCall):
            return event
        if event.startswith(OPEN):  # the stream emits a failed call as its own text event
            return event.removeprefix(OPEN).removesuffix(CLOSE)
    return None


def plain_text(text: str, names: frozenset[str] | None) -> str:
    """The turn's content as the server returns it, less any broken call: what it says."""
    stream = ToolCallStream(names)
    events = stream.feed(text) + stream.close()
    return "".join(e for e in events if isinstance(e, str) and not e.startswith(OPEN)).strip()


# --- calls ----------------------------------------------------------------------------------


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


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


# score_call's checks, in the order in which each implies the ones before it.
CALL_CHECKS = (
    "emitted",
    "json_valid",
    "parseable",
    "right_name",
    "required_args",
    "args_match",
    "schema_valid",
)


def score_call(response: str, point: ToolPoint) -> dict[str, bool]:
    """The first call of a generated turn against the gold call; each check implies the
    ones before it, so every share is over all call points. `parseable`: the server returns
    it as a tool call (JSON object, an offered tool's name, object arguments)."""
    import jsonschema

    gold_name = point.gold_call["function"]["name"]
    gold_args = json.loads(point.gold_call["function"]["arguments"])
    schema = next(t["function"] for t in point.tools if t["function"]["name"] == gold_name)
    first = first_call(response, tool_names(point.tools))
    parseable = isinstance(first, ToolCall)
    right_name = parseable and first.name == gold_name
    args = json.loads(first.arguments) if right_name else {}
    params = schema["parameters"]
    return {
        "emitted": first is not None,
        "json_valid": parseable or (first is not None and _is_json(first)),
        "parseable": parseable,
        "right_name": right_name,
        "required_args": right_name and all(k in args for k in params.get("required", [])),
        "args_match": right_name and arguments_match(args, gold_args),
        "schema_valid": right_name
        and not any(jsonschema.Draft202012Validator(params).iter_errors(args)),
    }


# --- abstention and grounding ---------------------------------------------------------------


def conversation_text(messages: Sequence[dict]) -> str:
    """A conversation as plain lines, calls summarized: for judges, reviewers and checks of
    what the conversation already said."""
    lines = []
    for m in messages:
        if m.get("tool_calls"):
            f = m["tool_calls"][0]["function"]
            lines.append(f"assistant: [calls {f['name']} with {f['arguments']}]")
        else:
            lines.append(f"{m['role']}: {m.get('content') or ''}")
    return "\n".join(lines)


def score_abstention(response: str, point: ToolPoint) -> dict[str, bool]:
    """No call, and some text: a question back or a plain answer. Without a place or a day
    that text must not state the weather either, neither a condition nor a number the
    conversation did not give (a forecast for nowhere); an answer to an unrelated question
    may mention snow ("why is there snow in winter?")."""
    names = tool_names(point.tools)
    no_call = first_call(response, names) is None
    text = plain_text(response, names)
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


def answer_problems(
    answer: str, tool_result: str, names: frozenset[str] | None = None
) -> list[str]:
    """Why an answer to a tool result is not grounded: every number and weather condition it
    states must appear in the result, so after an error it states none (the error's own
    numbers aside); another call or an empty turn is no answer. `names`: the tools on offer
    (None: any name reads as a call)."""
    problems = []
    if first_call(answer, names) is not None:
        problems.append("calls a tool instead of answering")
    if "<tool_response>" in answer:
        problems.append("echoes a tool response instead of answering")
    text = plain_text(answer, names)
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
        return {
            "grounded": not answer_problems(response, point.tool_result, tool_names(point.tools))
        }
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
        for check in CALL_CHECKS:
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
