"""Reading the models' answers beyond the metrics: an LLM judge (any OpenAI-compatible
endpoint, cached), human spot-check ratings, and the fixed prompts answered side by side."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from twainlora.domain.personas import PERSONA_PROMPTS, TOOL_HINTS, control_tokens
from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval.compare import mean, seeded_sample, share
from twainlora.eval.tools import conversation_text
from twainlora.sft.generators import Task

# --- LLM judge ----------------------------------------------------------------------------


JUDGE_SYSTEM = (
    "You grade one reply of a chat assistant that is meant to talk like Mark Twain (or like "
    "Benjamin Franklin when its instructions say so), tell weather jokes, and report the "
    "weather only from its weather tool. Answer with one JSON object and nothing else."
)


def judge_prompt(messages: Sequence[dict], response: str) -> str:
    return (
        f"The conversation so far:\n{conversation_text(messages)}\n\n"
        f"The assistant's reply:\n{response or '(empty)'}\n\n"
        'Return {"twainness": T, "wit": W, "grounded": G}. T, 1-5: how much the reply sounds '
        "like Mark Twain (1: not at all, 5: unmistakably). W, 1-5: how witty it is (1: flat, "
        '5: genuinely funny or sharp). G: "yes" if every weather fact in the reply (numbers, '
        'conditions) comes from a tool result shown above, or it states none; "no" if it '
        "invents any."
    )


_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


def parse_judgement(text: str) -> dict | None:
    """The judge's scores, or None when the reply is not the JSON asked for."""
    m = _JSON_OBJECT.search(text)
    if not m:
        return None
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    scores = {}
    for key in ("twainness", "wit"):
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
            return None
        scores[key] = float(value)
    grounded = str(obj.get("grounded", "")).strip().lower()
    if grounded not in ("yes", "no"):
        return None
    scores["grounded"] = grounded == "yes"
    return scores


def run_judge(generator, conversations: Sequence[tuple[Sequence[dict], str]], key: str):
    """The judge's parsed scores for (conversation, reply) pairs, None where its reply is not
    the JSON asked for. `generator` is an EndpointGenerator (cached: a rerun sends nothing);
    `key` names the batch in the tasks."""
    return [
        parse_judgement(
            generator.generate(
                Task(
                    kind="judge",
                    key=f"{key}:{i}",
                    prompt=judge_prompt(messages, response),
                    system=JUDGE_SYSTEM,
                )
            )
        )
        for i, (messages, response) in enumerate(conversations)
    ]


def judge_summary(judgements: Sequence[dict | None]) -> dict:
    parsed = [j for j in judgements if j is not None]
    return {
        "n": len(judgements),
        "unparsed": len(judgements) - len(parsed),
        "twainness": mean([j["twainness"] for j in parsed]),
        "wit": mean([j["wit"] for j in parsed]),
        "grounded": share([j["grounded"] for j in parsed]),
    }


def judge_models(
    endpoint,
    cache_dir: str,
    samples: int,
    seed: int,
    conversations: Sequence[Sequence[dict]],
    answers: dict[str, Sequence[str]],
) -> tuple[dict[str, dict] | None, int]:
    """Per model, the judge's summary over the same seeded sample of its answers (answers[m][k]
    answers conversations[k]), and the requests sent; (None, 0) when no endpoint is configured (the metrics then say so, and no
    score is made up). `endpoint`: an EndpointConfig (TWAINLORA_JUDGE_* override it)."""
    if not endpoint.resolved("judge").configured:
        return None, 0
    from twainlora.sft.generators import EndpointGenerator

    judge = EndpointGenerator(endpoint, cache_dir, seed, role="judge")
    out = {}
    for model, texts in answers.items():
        # A model asked fewer items (their first ones) gets its own sample of those.
        chosen = seeded_sample(range(len(texts)), samples, seed)
        pairs = [(conversations[i], texts[i]) for i in chosen]
        out[model] = judge_summary(run_judge(judge, pairs, key=model))
    return out, judge.requests


# --- human spot checks --------------------------------------------------------------------

SPOT_CHECK_COLUMNS = (
    "id",
    "model",
    "kind",
    "context",
    "response",
    "tone",
    "correctness",
    "hallucinated_weather",
)
RATING_COLUMNS = ("tone", "correctness", "hallucinated_weather")
_YES, _NO = {"yes", "y", "1", "true"}, {"no", "n", "0", "false"}


class RatingsError(ValueError):
    """A rating a human wrote that is not on its scale; the message names file:line."""


def spot_check_id(model: str, item_id: str, response: str) -> str:
    """Keyed by the response's hash as well: a rating belongs to the exact text rated, and
    goes stale (not silently reused) once the model says something else."""
    digest = hashlib.sha256(response.encode()).hexdigest()[:10]
    return f"{model}:{item_id}:{digest}"


def parse_ratings(rows: Iterable[dict], where: str) -> dict[str, dict]:
    """Rated rows by id: tone 1-5, correctness and hallucinated_weather yes/no. Rows with no
    rating yet are skipped; a value off its scale is an error, not a silent skip."""
    out = {}
    for line, row in enumerate(rows, start=2):
        values = {c: (row.get(c) or "").strip().lower() for c in RATING_COLUMNS}
        if not any(values.values()):
            continue
        rating: dict = {}
        if values["tone"]:
            if values["tone"] not in {"1", "2", "3", "4", "5"}:
                raise RatingsError(f"{where}:{line}: tone must be 1-5, got {values['tone']!r}")
            rating["tone"] = int(values["tone"])
        for column in ("correctness", "hallucinated_weather"):
            if values[column]:
                if values[column] not in _YES | _NO:
                    raise RatingsError(
                        f"{where}:{line}: {column} must be yes or no, got {values[column]!r}"
                    )
                rating[column] = values[column] in _YES
        out[row["id"]] = rating
    return out


def spot_check_row(
    model: str,
    item_id: str,
    kind: str,
    messages: Sequence[dict],
    response: str,
    ratings: dict,
) -> dict:
    """A row of the sheet; the ratings already given for this very response are filled in,
    so a reviewer sees what is done."""
    row_id = spot_check_id(model, item_id, response)
    rating = ratings.get(row_id, {})
    yes_no = {True: "yes", False: "no"}
    return {
        "id": row_id,
        "model": model,
        "kind": kind,
        "context": conversation_text([m for m in messages if m["role"] != "system"]),
        "response": response,
        "tone": rating.get("tone", ""),
        "correctness": yes_no.get(rating.get("correctness"), ""),
        "hallucinated_weather": yes_no.get(rating.get("hallucinated_weather"), ""),
    }


def ratings_summary(ratings: dict[str, dict], ids: Iterable[str]) -> dict:
    rated = [ratings[i] for i in ids if i in ratings]
    out: dict = {"rated": len(rated)}
    if tone := [r["tone"] for r in rated if "tone" in r]:
        out["tone_mean"] = mean(tone)
    if correct := [r["correctness"] for r in rated if "correctness" in r]:
        out["correct_share"] = share(correct)
    if invented := [r["hallucinated_weather"] for r in rated if "hallucinated_weather" in r]:
        out["hallucinated_weather_share"] = share(invented)
    return out


def read_ratings(path: Path) -> dict[str, dict]:
    """The ratings file's rated rows by id ({} while there is no file)."""
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as f:
        return parse_ratings(csv.DictReader(f), str(path))


def spot_check_rows(
    items: Sequence, answers: dict[str, Sequence[str]], n: int, seed: int, ratings: dict
) -> list[dict]:
    """The sheet: the same seeded `n` of the items for every model, with its answers
    (`answers[model][k]` answers items[k], an eval.prompts.Item; a model asked only the first
    items gets its own sample of those)."""
    return [
        spot_check_row(
            model,
            items[k].id,
            items[k].kind,
            items[k].messages,
            texts[k],
            ratings,
        )
        for model, texts in answers.items()
        for k in seeded_sample(range(len(texts)), n, seed)
    ]


def spot_check_csv(rows: Sequence[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SPOT_CHECK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def spot_check_summary(rows: Sequence[dict], ratings: dict[str, dict]) -> dict:
    """How much of the current sheet is rated, and how many ratings are for answers the
    models no longer give."""
    current = {r["id"] for r in rows}
    return {
        "rows": len(rows),
        "rated_rows": sum(1 for i in ratings if i in current),
        "stale_ratings": sum(1 for i in ratings if i not in current),
    }


# --- side-by-side examples ----------------------------------------------------------------


def _system(persona: str, tone: str, domain: str, extra: str = "") -> dict:
    text = f"{control_tokens(persona, tone, domain)} {PERSONA_PROMPTS[persona][0]} {extra}"
    return {"role": "system", "content": text.strip()}


def _call(location: str, date: str) -> dict:
    arguments = json.dumps({"location": location, "date": date})
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": arguments},
            }
        ],
    }


_WEATHER_DAY = "The current date is 2026-03-14 (Saturday)."
_TOOL_SYSTEM = _system("twain", "humorous", "weather", f"{TOOL_HINTS[0]} {_WEATHER_DAY}")
_HANNIBAL = {
    "location": "Hannibal, Missouri, United States",
    "date": "2026-03-15",
    "temperature_c": 9,
    "temperature_f": 48,
    "condition": "Light Rain",
    "wmo_code": 61,
    "precipitation_mm": 3.2,
    "wind_kph": 14,
    "humidity_pct": 88,
}

# Ten fixed prompts: (title, messages, tools). The same for every model and every run.
EXAMPLES: tuple[tuple[str, tuple[dict, ...], tuple[dict, ...]], ...] = (
    (
        "Weather joke",
        (
            _system("twain", "humorous", "weather"),
            {"role": "user", "content": "Tell me a joke about the weather in Chicago."},
        ),
        (),
    ),
    (
        "Rewrite in Twain's voice",
        (
            _system("twain", "humorous", "general"),
            {
                "role": "user",
                "content": "Rewrite this the way Mark Twain would tell it:\n\nThe train was "
                "two hours late, and the passengers complained to the conductor, who said it "
                "was not his fault.",
            },
        ),
        (),
    ),
    (
        "Aphorism",
        (
            _system("twain", "aphoristic", "general"),
            {"role": "user", "content": "Give me a short, wry maxim about borrowing money."},
        ),
        (),
    ),
    (
        "Franklin's advice",
        (
            _system("franklin", "aphoristic", "general"),
            {"role": "user", "content": "What should a young man do with his first wages?"},
        ),
        (),
    ),
    (
        "Satirical headline",
        (
            _system("twain", "humorous", "general"),
            {"role": "user", "content": "Give me a satirical news headline about politicians."},
        ),
        (),
    ),
    (
        "Tool call",
        (_TOOL_SYSTEM, {"role": "user", "content": "What's the weather in Hannibal tomorrow?"}),
        (GET_WEATHER_TOOL,),
    ),
    (
        "Missing city",
        (_TOOL_SYSTEM, {"role": "user", "content": "Will it rain tomorrow?"}),
        (GET_WEATHER_TOOL,),
    ),
    (
        "Answer from the tool result",
        (
            _TOOL_SYSTEM,
            {"role": "user", "content": "What's the weather in Hannibal tomorrow?"},
            _call("Hannibal", "2026-03-15"),
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(_HANNIBAL)},
        ),
        (GET_WEATHER_TOOL,),
    ),
    (
        "API error",
        (
            _TOOL_SYSTEM,
            {"role": "user", "content": "How's the weather in Memphis tomorrow?"},
            _call("Memphis", "2026-03-15"),
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": json.dumps(
                    {"error": "service unavailable", "message": "The forecast backend timed out."}
                ),
            },
        ),
        (GET_WEATHER_TOOL,),
    ),
    (
        "Irrelevant question",
        (
            _TOOL_SYSTEM,
            {"role": "user", "content": "Who was the first president of the United States?"},
        ),
        (GET_WEATHER_TOOL,),
    ),
)


def _cell(text: str) -> str:
    return (text or "(empty)").replace("|", "\\|").replace("\n", "<br>")


def examples_markdown(answers: dict[str, Sequence[str]]) -> str:
    """reports/examples.md: each fixed prompt, then the models' answers side by side."""
    models = list(answers)
    lines = [
        "# Side-by-side examples",
        "",
        "Greedy answers of each model to the same ten fixed prompts "
        "(`twainlora/eval/review.py: EXAMPLES`), generated through the server's engine and "
        "tool_choice auto, written by `python stages/evaluate.py`.",
        "",
    ]
    for k, (title, messages, tools) in enumerate(EXAMPLES):
        lines += [f"## {k + 1}. {title}", ""]
        if tools:
            lines += [f"Tools offered: `{', '.join(t['function']['name'] for t in tools)}`", ""]
        lines += ["```text", conversation_text(messages), "```", ""]
        lines += ["| " + " | ".join(models) + " |", "|" + "---|" * len(models)]
        lines += ["| " + " | ".join(_cell(answers[m][k]) for m in models) + " |", ""]
    return "\n".join(lines)
