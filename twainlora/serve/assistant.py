"""From a chat request to the assistant's reply: the one path every generation takes.

(messages, tools, tool_choice, sampling) -> the prompt in the chat template, the tool-call
grammar for the tool_choice, the engine's decode, and the reply read into content and tool
calls (twainlora.core.toolcalls). The server's request handler, the evaluate stage and
bench/eval.py all call `start`/`reply`, so evaluated behaviour is served behaviour; the server
adds only HTTP: validation of OpenAI's request shape, streaming, usage and errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from twainlora.core.toolcalls import ToolCall, split_tool_calls, tool_grammar
from twainlora.serve.engine import Engine, Finish, PromptTooLong, Sampling

# The server's tool_choice when a request with tools sets none (OpenAI's default too).
DEFAULT_TOOL_CHOICE = "auto"


class RequestError(ValueError):
    """A request the engine cannot serve as asked; the server answers it with a 400."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message, self.param, self.code = message, param, code


@dataclass(frozen=True)
class Reply:
    """A finished assistant turn as the server returns it."""

    content: str | None  # None: nothing besides the calls
    tool_calls: tuple[ToolCall, ...]
    finish: Finish

    @property
    def finish_reason(self) -> str:
        return finish_reason(self.finish, self.tool_calls)


@dataclass
class Generation:
    """A started (lazy) generation: the engine's events, and how to read its text."""

    model: str
    events: Iterator[str | Finish]  # Engine.generate's: text pieces, then a Finish
    cancel: threading.Event
    tool_names: frozenset[str] | None  # None: the reply is plain content, never parsed

    def reply(self) -> Reply:
        """Decode to the end (waiting for the engine's turn) and read the whole reply."""
        return read_reply(last_event(self.events), self.tool_names)


def start(
    engine: Engine,
    model: str,
    messages: Sequence[dict],
    *,
    sampling: Sampling,
    tools: Sequence[dict] = (),
    tool_choice: str | dict | None = None,
    parallel_tool_calls: bool = False,
) -> Generation:
    """Check the request, render the prompt and start the generation. `messages` and `tools`
    are OpenAI-format dicts; `tool_choice` is "none", "auto", "required", {"name": ...} or
    None (the default); raises RequestError or KeyError (an unknown model)."""
    if model not in engine.model_ids:
        raise KeyError(model)
    rendered = [template_message(i, m) for i, m in enumerate(messages)]
    tools = [template_tool(t) for t in tools]
    choice = resolve_tool_choice(tool_choice, tools)
    grammar = names = None
    if tools:
        try:
            grammar = tool_grammar(tools, choice, parallel_tool_calls)
            engine.check_grammar(grammar)
        except ValueError as e:
            raise RequestError(f"tools cannot be enforced: {e}", param="tools") from e
        if choice != "none":
            names = frozenset(t["function"]["name"] for t in tools)
    prompt_ids = engine.render(rendered, tools)
    cancel = threading.Event()
    try:
        events = engine.generate(model, prompt_ids, sampling, grammar, cancel)
    except PromptTooLong as e:
        raise RequestError(str(e), param="messages", code="context_length_exceeded") from e
    return Generation(model, events, cancel, names)


def reply(engine: Engine, model: str, messages: Sequence[dict], **request) -> Reply:
    """The whole reply to one request (see `start` for the arguments)."""
    return start(engine, model, messages, **request).reply()


def template_message(index: int, message: dict) -> dict:
    """A request message as the chat template reads it: content parts joined, `developer`
    as `system`, calls as {"id", "type", "function": {"name", "arguments"}}."""
    role, content = message["role"], message.get("content")
    if isinstance(content, list):
        content = "".join(part["text"] for part in content)
    calls = message.get("tool_calls")
    if role != "assistant" and content is None:
        raise RequestError(f"messages[{index}] ({role}) has no content", param="messages")
    if role == "assistant" and content is None and not calls:
        raise RequestError(
            f"messages[{index}] has neither content nor tool_calls", param="messages"
        )
    out = {"role": "system" if role == "developer" else role, "content": content}
    if calls:
        out["tool_calls"] = [
            {
                "id": c.get("id"),
                "type": c.get("type", "function"),
                "function": {
                    "name": c["function"]["name"],
                    "arguments": c["function"]["arguments"],
                },
            }
            for c in calls
        ]
    return out


def template_tool(tool: dict) -> dict:
    """A tool as the template renders it: the function's name, description and parameters,
    nothing else (extra keys would change the prompt)."""
    function = tool["function"]
    keys = ("name", "description", "parameters")
    return {
        "type": "function",
        "function": {k: function[k] for k in keys if function.get(k) is not None},
    }


def resolve_tool_choice(choice: str | dict | None, tools: Sequence[dict]) -> str | dict:
    """The tool_choice the grammar is built for: "none" without tools, the default "auto"
    when a request with tools sets none."""
    if not tools:
        if choice not in (None, "none"):
            raise RequestError("tool_choice needs tools", param="tool_choice")
        return "none"
    if isinstance(choice, dict):
        name = choice["name"]
        if name not in {t["function"]["name"] for t in tools}:
            raise RequestError(f"tool_choice names {name!r}, not in tools", param="tool_choice")
        return {"name": name}
    return choice or DEFAULT_TOOL_CHOICE


def read_reply(finish: Finish, tool_names: frozenset[str] | None) -> Reply:
    if tool_names is None:
        return Reply(finish.text, (), finish)
    content, calls = split_tool_calls(finish.text, tool_names)
    return Reply(content, tuple(calls), finish)


def last_event(events) -> Finish:
    for event in events:
        if isinstance(event, Finish):
            return event
    raise AssertionError("a generation ended without a Finish")


def finish_reason(finish: Finish, calls: Sequence[ToolCall]) -> str:
    if finish.reason == "length":
        return "length"
    return "tool_calls" if calls else "stop"
