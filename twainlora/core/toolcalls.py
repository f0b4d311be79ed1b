"""Tool calls in our chat template's format, `<tool_call>{"name": ..., "arguments": {...}}
</tool_call>` (Hermes style): parsing model output into OpenAI tool calls, and the grammar that
constrains decoding so that an emitted call is valid JSON against its tool's schema.

The grammar is llguidance's Lark dialect (https://github.com/guidance-ai/llguidance, docs/
syntax.md): `%json {...}` embeds a JSON schema, and `&`/`~` on terminals express "text without
`<tool_call>`".
llguidance is a dependency-free Rust wheel (xgrammar pulls in triton, outlines its own Rust core
and more), is what vLLM, SGLang and llama.cpp use, and computes a SmolLM2 token mask in ~0.1 ms
here, nothing next to a ~70 ms decode step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

OPEN = "<tool_call>"
CLOSE = "</tool_call>"

# Separators as the template's `tojson` renders calls (json.dumps defaults); no free
# whitespace, so a small model cannot stall inside a call emitting blanks until max_tokens.
_JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


class ToolCallError(ValueError):
    pass


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # a JSON object as text, as OpenAI's API carries it


def parse_tool_call(body: str, tool_names: frozenset[str] | None = None) -> ToolCall:
    """The text between `<tool_call>` and `</tool_call>` as a ToolCall; raises ToolCallError
    unless it is a JSON object with a string "name" (one of `tool_names`, when given) and an
    object "arguments" (a JSON string holding an object is accepted too)."""
    try:
        call = json.loads(body)
    except json.JSONDecodeError as e:
        raise ToolCallError(f"tool call is not JSON: {e.msg} at {e.pos}") from e
    if not isinstance(call, dict):
        raise ToolCallError(f"tool call must be a JSON object, got {type(call).__name__}")
    extra = sorted(set(call) - {"name", "arguments"})
    if extra:
        raise ToolCallError(f"tool call has unknown key(s) {extra}")
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise ToolCallError('tool call needs a non-empty string "name"')
    if tool_names is not None and name not in tool_names:
        raise ToolCallError(f"tool call names {name!r}, not one of {sorted(tool_names)}")
    if "arguments" not in call:
        raise ToolCallError('tool call has no "arguments"')
    arguments = call["arguments"]
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as e:
            raise ToolCallError(f"tool call arguments string is not JSON: {e.msg}") from e
    if not isinstance(arguments, dict):
        raise ToolCallError('tool call "arguments" must be a JSON object')
    return ToolCall(name, json.dumps(arguments, ensure_ascii=False))


class ToolCallStream:
    """Splits generated text, fed in pieces, into content and complete tool calls.

    Text that might be the start of `<tool_call>` is held back until it is decided; a call is
    emitted when its `</tool_call>` arrives. A call that does not parse, or is still open at
    the end, goes out as content verbatim: nothing the model wrote is dropped silently.
    Whitespace between and after calls is the template's separator, not content.
    """

    def __init__(self, tool_names: frozenset[str] | None = None):
        self.tool_names = tool_names
        self.buffer = ""
        self.in_call = False
        self.calls = 0

    def feed(self, text: str) -> list[str | ToolCall]:
        self.buffer += text
        events: list[str | ToolCall] = []
        while True:
            if self.in_call:
                end = self.buffer.find(CLOSE)
                if end < 0:
                    return events
                body, self.buffer = self.buffer[:end], self.buffer[end + len(CLOSE) :]
                self.in_call = False
                try:
                    events.append(parse_tool_call(body, self.tool_names))
                    self.calls += 1
                except ToolCallError:
                    events.append(OPEN + body + CLOSE)
                continue
            start = self.buffer.find(OPEN)
            if start >= 0:
                self._content(events, self.buffer[:start])
                self.buffer = self.buffer[start + len(OPEN) :]
                self.in_call = True
                continue
            keep = partial_suffix(self.buffer, OPEN)
            self._content(events, self.buffer[: len(self.buffer) - keep])
            self.buffer = self.buffer[len(self.buffer) - keep :]
            return events

    def close(self) -> list[str | ToolCall]:
        """What is left at the end of generation: an unterminated call or held-back text."""
        rest = (OPEN if self.in_call else "") + self.buffer
        self.buffer, self.in_call = "", False
        events: list[str | ToolCall] = []
        self._content(events, rest)
        return events

    def _content(self, events: list, text: str) -> None:
        if text and not (self.calls and not text.strip()):
            events.append(text)


def split_tool_calls(
    text: str, tool_names: frozenset[str] | None = None
) -> tuple[str | None, list[ToolCall]]:
    """A whole generation as (content, tool calls); content is None when there is none."""
    stream = ToolCallStream(tool_names)
    events = stream.feed(text) + stream.close()
    calls = [e for e in events if isinstance(e, ToolCall)]
    content = "".join(e for e in events if isinstance(e, str)).strip()
    return content or None, calls


def partial_suffix(text: str, marker: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `marker`."""
    for n in range(min(len(text), len(marker) - 1), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def closed_objects(schema):
    """The schema with `additionalProperties: false` on every object that lists its
    properties and says nothing about others. Every value it accepts fits the original; it
    stops a small model from inventing keys (SmolLM2 adds "date" to a tool that takes only
    "city"), as OpenAI's strict mode does."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SUBSCHEMA:
        if isinstance(out.get(key), dict):
            out[key] = closed_objects(out[key])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [closed_objects(s) for s in out[key]]
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: closed_objects(s) for name, s in out[key].items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def tool_grammar(tools: list[dict], choice: str | dict, parallel: bool) -> str:
    """The llguidance Lark grammar for an assistant turn given OpenAI `tools` (dicts) and a
    resolved tool_choice: "none" (text that never opens a call), "auto" (such text, or calls
    only), "required" (calls only) or {"name": ...} (calls to that function only).
    `parallel` allows more than one call, newline-separated, as the template renders them."""
    # Text that never opens a call: an answer in words.
    no_call = "NO_CALL: /(?s:.*)/ & ~/(?s:.*)<tool_call>(?s:.*)/\n"
    if choice == "none":
        return "start: NO_CALL\n" + no_call
    functions = [t["function"] for t in tools]
    if isinstance(choice, dict):
        functions = [f for f in functions if f["name"] == choice["name"]]
        if not functions:
            raise ValueError(f"tool_choice names {choice['name']!r}, which is not in tools")
    variants = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": closed_objects(f.get("parameters") or {"type": "object"}),
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for f in functions
    ]
    schema = variants[0] if len(variants) == 1 else {"anyOf": variants}
    body = "body: %json " + json.dumps({**schema, "x-guidance": _JSON_STYLE}) + "\n"
    call = f'call: "{OPEN}" body "{CLOSE}"\n'
    more = ' ("\\n" call)*' if parallel else ""
    if choice == "auto":
        # An answer in words, or calls and nothing else, as the chat template tells the model
        # (and as every call in our data opens its turn). "Text, then a call" let the adapter
        # start an answer and then call anyway ("Here is the joke: <tool_call>...").
        return f"start: NO_CALL | call{more}\n" + no_call + call + body
    return f"start: call{more}\n" + call + body
