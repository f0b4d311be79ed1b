"""Reading a generated turn for tool use: its first call, its text, place names compared
loosely, and why an answer to a tool result is not grounded in it (an invented number or
condition). twainlora/eval/decisions.py scores the held-out items with these.

A generated turn is read with twainlora.core.toolcalls, the parser the server answers with,
and with the names of the tools on offer, as the server reads it: a call counts exactly when
the server would return it as a tool call. A `<tool_call>` the server would hand back as text
(malformed, naming no offered tool, or cut off by the token limit) still counts as emitted:
a broken call is not no call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from twainlora.core.sft import ungrounded_numbers
from twainlora.core.toolcalls import CLOSE, OPEN, ToolCall, ToolCallStream
from twainlora.domain.weather import fold

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


# --- grounding -------------------------------------------------------------------------------


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
