"""SFT records in OpenAI chat format: their JSON Schema and the checks every example passes
before a stage writes it (DESIGN.md: Records).

Structure is checked by JSON Schema; what a schema cannot say (a tool turn answers a call
that was made, the arguments fit the called tool's parameters, the final answer states no
number the tool did not return) is checked in code, each failure a readable string.
"""

from __future__ import annotations

import json
import re

from twainlora.core.records import TAG_VALUES, schema_error_strings

TEMPLATES = (
    "style_imitation",
    "humor",
    "aphorism",
    "safety",
    "tool_success",
    "tool_missing_location",
    "tool_missing_date",
    "tool_api_error",
    "tool_irrelevant",
    "tool_session",
)

_TOOL_CALL = {
    "type": "object",
    "required": ["id", "type", "function"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "arguments": {"type": "string"},
            },  # a JSON string, as OpenAI sends
        },
    },
}

SFT_RECORD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "twainlora SFT record (OpenAI chat format)",
    "type": "object",
    "required": ["id", "messages", "tags", "provenance"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role"],
                "oneOf": [
                    {
                        "properties": {
                            "role": {"const": "system"},
                            "content": {"type": "string", "minLength": 1},
                        },
                        "required": ["content"],
                        "additionalProperties": False,
                    },
                    {
                        "properties": {
                            "role": {"const": "user"},
                            "content": {"type": "string", "minLength": 1},
                        },
                        "required": ["content"],
                        "additionalProperties": False,
                    },
                    {
                        "properties": {
                            "role": {"const": "assistant"},
                            "content": {"type": ["string", "null"]},
                            "tool_calls": {"type": "array", "minItems": 1, "items": _TOOL_CALL},
                        },
                        "required": ["content"],
                        "additionalProperties": False,
                    },
                    {
                        "properties": {
                            "role": {"const": "tool"},
                            "tool_call_id": {"type": "string"},
                            "content": {"type": "string"},
                        },
                        "required": ["tool_call_id", "content"],
                        "additionalProperties": False,
                    },
                ],
            },
        },
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "function"],
                "properties": {
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name", "description", "parameters"],
                        "properties": {
                            "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                            "description": {"type": "string"},
                            "parameters": {"type": "object"},
                        },
                    },
                },
            },
        },
        "tags": {
            "type": "object",
            "required": ["persona", "tone", "domain", "source", "template", "synthetic"],
            "properties": {
                **{
                    k: {"enum": list(TAG_VALUES[k])}
                    for k in ("persona", "tone", "domain", "source")
                },
                "template": {"enum": list(TEMPLATES)},
                "synthetic": {"type": "boolean"},
            },
        },
        "provenance": {"type": "array", "items": {"type": "string"}},
    },
}


# How a conversation asks for a persona's voice: the control tokens at the start of the system
# prompt, a system prompt without them (the persona's sentence, as users write one), or no
# system prompt, the request naming the author.
STYLE_FRAMINGS = ("control_tokens", "plain_system", "in_request")


def framing_of(record: dict) -> str:
    first = record["messages"][0]
    if first["role"] != "system":
        return "in_request"
    return "control_tokens" if first["content"].startswith("[PERSONA=") else "plain_system"


def dialogue_text(record: dict) -> str:
    """The turns after the system prompt, one content per line (a tool call's turn is empty):
    what near-duplicate tests and token-length statistics look at. The system prompt is left
    out because it repeats across records by design."""
    messages = record["messages"]
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    return "\n".join(m.get("content") or "" for m in turns)


def schema_errors(record: dict) -> list[str]:
    return schema_error_strings(SFT_RECORD_SCHEMA, record)


def conversation_errors(record: dict) -> list[str]:
    """Tool-use logic: calls name offered tools with arguments valid against the tool's
    parameters, every call gets exactly one tool turn, and the conversation ends with an
    assistant message that has text."""
    import jsonschema

    errors: list[str] = []
    tools = {t["function"]["name"]: t["function"] for t in record.get("tools", [])}
    open_calls: dict[str, str] = {}
    messages = record["messages"]
    for i, message in enumerate(messages):
        role = message["role"]
        if role == "system" and i != 0:
            errors.append(f"messages/{i}: a system message only opens the conversation")
        if role == "assistant":
            if open_calls:
                errors.append(f"messages/{i}: calls {sorted(open_calls)} have no tool turn")
                open_calls = {}
            for call in message.get("tool_calls") or []:
                name = call["function"]["name"]
                open_calls[call["id"]] = name  # answered or not, its tool turn is expected
                if name not in tools:
                    errors.append(f"messages/{i}: calls {name!r}, which is not among the tools")
                    continue
                try:
                    arguments = json.loads(call["function"]["arguments"])
                except json.JSONDecodeError as e:
                    errors.append(f"messages/{i}: arguments of {name!r} are not JSON ({e.msg})")
                    continue
                for e in jsonschema.Draft202012Validator(tools[name]["parameters"]).iter_errors(
                    arguments
                ):
                    errors.append(f"messages/{i}: arguments of {name!r}: {e.message}")
            if not message.get("tool_calls") and not (message.get("content") or "").strip():
                errors.append(f"messages/{i}: an assistant message needs content or tool calls")
        if role == "tool":
            if message["tool_call_id"] not in open_calls:
                errors.append(
                    f"messages/{i}: tool turn answers no open call ({message['tool_call_id']!r})"
                )
            else:
                del open_calls[message["tool_call_id"]]
            try:
                json.loads(message["content"])
            except json.JSONDecodeError:
                errors.append(f"messages/{i}: tool result is not JSON")
        if role == "user" and open_calls:
            errors.append(
                f"messages/{i}: the user speaks before calls {sorted(open_calls)} are answered"
            )
    last = messages[-1]
    if (
        last["role"] != "assistant"
        or last.get("tool_calls")
        or not (last.get("content") or "").strip()
    ):
        errors.append("the conversation must end with an assistant answer in text")
    return errors


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


def ungrounded_numbers(answer: str, tool_result: dict | str) -> list[str]:
    """Numbers stated in `answer` that do not appear in the tool result (its values, or the
    date's parts): a grounded weather answer invents none."""
    result = json.loads(tool_result) if isinstance(tool_result, str) else tool_result
    allowed: set[str] = set()
    for value in _flatten(result):
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            allowed |= {str(value), str(abs(value))}
            if isinstance(value, float) and value.is_integer():
                allowed |= {str(int(value)), str(abs(int(value)))}
        elif isinstance(value, str):
            allowed |= {n.lstrip("-") for n in _NUMBER.findall(value)}
            allowed |= {n.lstrip("0") or "0" for n in _NUMBER.findall(value.replace("-", " "))}
    return [n for n in _NUMBER.findall(answer) if n.lstrip("-") not in allowed and n not in allowed]


def _flatten(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _flatten(v)
    elif isinstance(value, list):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def record_errors(record: dict) -> list[str]:
    """Everything wrong with an SFT record: the schema first, then the conversation logic."""
    errors = schema_errors(record)
    return errors or conversation_errors(record)


def grounding_errors(record: dict) -> list[str]:
    """Each assistant answer right after a tool result states no number that result lacks
    (after an error result, that means no number at all beyond what the error says)."""
    errors = []
    messages = record["messages"]
    for i in range(1, len(messages)):
        message, previous = messages[i], messages[i - 1]
        if message["role"] == "assistant" and previous["role"] == "tool" and message.get("content"):
            if bad := ungrounded_numbers(message["content"], previous["content"]):
                errors.append(f"messages/{i}: numbers not in the tool result: {bad}")
    return errors
