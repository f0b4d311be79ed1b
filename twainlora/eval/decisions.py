"""Scoring the held-out tool decisions (twainlora/eval/heldout.py) and the style replies'
degeneration, every rate with its 95% Wilson interval so that `dvc metrics diff` shows
whether a change is larger than the evaluation's own noise.

A reply is read as the server returns it (twainlora.eval.tools.first_call: the core parser
with the names of the tools on offer), so a call to a tool that was not offered is no call.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

from twainlora.core.sft import ungrounded_numbers
from twainlora.core.toolcalls import ToolCall
from twainlora.eval.compare import rate
from twainlora.eval.tools import (
    answer_problems,
    condition_families,
    conversation_text,
    first_call,
    locations_match,
    plain_text,
)
from twainlora.eval.tools import tool_names as names_of

# The rates the issue sets targets for, each from the item kinds it is measured on.
RATES = {
    "calls_when_it_should": ("call_explicit", "call_relative"),
    "right_function_and_arguments": ("call_explicit", "call_relative"),
    "location_right": ("call_explicit", "call_relative"),
    "date_right_explicit": ("call_explicit",),
    "date_right_relative": ("call_relative",),
    "no_call_when_unrelated": ("unrelated",),
    "asks_for_missing_place": ("missing_place",),
    "missing_date_handled": ("missing_date",),
    "no_call_after_error": ("after_error",),
    "says_error_invents_nothing": ("after_error",),
    "no_call_after_result": ("after_result",),
    "answer_grounded_in_result": ("after_result",),
}


def _arguments(call: ToolCall) -> dict:
    try:
        arguments = json.loads(call.arguments)
    except json.JSONDecodeError:
        return {}
    return arguments if isinstance(arguments, dict) else {}


def score_decision(item: dict, text: str) -> dict[str, bool]:
    """The outcomes an item's reply counts toward (RATES names), from its kind and `expect`."""
    expect, kind = item["expect"], item["kind"]
    call = first_call(text, names_of(item["tools"]))
    called = isinstance(call, ToolCall)
    loc_key, date_key = expect["location_key"], expect["date_key"]
    out: dict[str, bool] = {}
    if kind in ("call_explicit", "call_relative"):
        args = _arguments(call) if called else {}
        right = called and call.name == expect["function"] and {loc_key, date_key} <= set(args)
        out["calls_when_it_should"] = called
        out["right_function_and_arguments"] = right
        out["location_right"] = right and locations_match(args[loc_key], expect["location"])
        date_ok = right and args[date_key] == expect["date"]
        out["date_right_explicit" if kind == "call_explicit" else "date_right_relative"] = date_ok
    elif kind == "unrelated":
        out["no_call_when_unrelated"] = call is None
    elif kind == "missing_place":
        # A question back, and no forecast for nowhere: neither a condition nor a number the
        # conversation did not give.
        said = plain_text(text, None)
        given = {"conversation": conversation_text(item["messages"])}
        out["asks_for_missing_place"] = (
            call is None
            and "?" in said
            and not condition_families(said)
            and not ungrounded_numbers(said, given)
        )
    elif kind == "missing_date":
        # Asking which day is right; so is a call for today at the named place.
        args = _arguments(call) if called else {}
        today_call = (
            called
            and call.name == expect["function"]
            and args.get(date_key) == expect["date"]
            and locations_match(args.get(loc_key), expect["location"])
        )
        asked = call is None and "?" in plain_text(text, None)
        out["missing_date_handled"] = today_call or asked
    else:
        result = json.dumps(expect["result"])
        problems = answer_problems(text, result, names_of(item["tools"]))
        if kind == "after_error":
            out["no_call_after_error"] = call is None
            out["says_error_invents_nothing"] = not problems
        else:
            out["no_call_after_result"] = call is None
            out["answer_grounded_in_result"] = not problems
    return out


def decision_metrics(items: Sequence[dict], texts: Sequence[str]) -> dict:
    """Every RATES rate with its interval, over all items and split into the items asked the
    data's way (`seen`) and with another tool's schema and phrasing (`novel`)."""
    scored = [(item, score_decision(item, text)) for item, text in zip(items, texts, strict=True)]
    out: dict = {}
    for name in RATES:
        flags = {"all": [], "seen": [], "novel": []}
        for item, outcome in scored:
            if name in outcome:
                flags["all"].append(outcome[name])
                flags["novel" if item["novel"] else "seen"].append(outcome[name])
        out[name] = {**rate(flags["all"]), "seen": rate(flags["seen"])["rate"]}
        out[name]["novel"] = rate(flags["novel"])["rate"]
    return out


# --- degeneration ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:'\w+)?")


def repeats_itself(text: str, n: int = 4, times: int = 3) -> bool:
    """Whether some n-word sequence occurs `times` times or more: the loop a greedy small
    model falls into ("He must have a plan. He must have a plan. ...")."""
    words = _WORD.findall(text.lower())
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return bool(counts) and max(counts.values()) >= times


def distinct_n(texts: Sequence[str], n: int = 2) -> float | None:
    """Distinct n-grams over all n-grams of the replies (higher: more varied)."""
    grams = [
        tuple(words[i : i + n])
        for text in texts
        for words in [_WORD.findall(text.lower())]
        for i in range(len(words) - n + 1)
    ]
    return round(len(set(grams)) / len(grams), 4) if grams else None


def degeneration(texts: Sequence[str]) -> dict:
    return {
        "repeats_4gram_3x": rate([repeats_itself(t) for t in texts]),
        "distinct_2": distinct_n(texts),
    }
