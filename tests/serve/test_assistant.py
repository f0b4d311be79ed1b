"""The request -> reply path the server, the evaluate stage and the benchmarks share, on the
parts that need no model: messages and tools as the template reads them, tool_choice, and the
reply read from the generated text. (tests/serve/test_server.py and tests/eval/test_answers.py
run it with the real model.)"""

import json

import pytest

from twainlora.core.toolcalls import ToolCall
from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.serve import assistant
from twainlora.serve.engine import Finish

NAMES = frozenset({"get_weather"})
CALL_TEXT = '<tool_call>{"name": "get_weather", "arguments": {"location": "Paris", "date": "2027-01-02"}}</tool_call>'


def test_messages_as_the_template_reads_them():
    parts = {
        "role": "developer",
        "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
    }
    assert assistant.template_message(0, parts) == {"role": "system", "content": "Be brief."}
    call = {"id": "c1", "function": {"name": "get_weather", "arguments": "{}"}, "extra": 1}
    out = assistant.template_message(
        1, {"role": "assistant", "content": None, "tool_calls": [call]}
    )
    assert out["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    ]
    with pytest.raises(assistant.RequestError, match=r"messages\[2\] \(user\) has no content"):
        assistant.template_message(2, {"role": "user", "content": None})
    with pytest.raises(assistant.RequestError, match="neither content nor tool_calls"):
        assistant.template_message(3, {"role": "assistant", "content": None})


def test_tools_keep_only_what_the_template_renders():
    extra = {"type": "function", "function": {**GET_WEATHER_TOOL["function"], "strict": True}}
    assert assistant.template_tool(extra) == GET_WEATHER_TOOL
    assert assistant.template_tool(GET_WEATHER_TOOL) == GET_WEATHER_TOOL


def test_tool_choice_defaults_to_auto_and_is_checked():
    tools = [GET_WEATHER_TOOL]
    assert assistant.resolve_tool_choice(None, tools) == "auto" == assistant.DEFAULT_TOOL_CHOICE
    assert assistant.resolve_tool_choice(None, []) == "none"
    assert assistant.resolve_tool_choice({"name": "get_weather"}, tools) == {"name": "get_weather"}
    with pytest.raises(assistant.RequestError, match="tool_choice needs tools"):
        assistant.resolve_tool_choice("required", [])
    with pytest.raises(assistant.RequestError, match="names 'get_time', not in tools"):
        assistant.resolve_tool_choice({"name": "get_time"}, tools)


def test_a_reply_is_read_into_content_and_calls():
    finish = Finish("Let me look. " + CALL_TEXT, "stop", 10, 40)
    reply = assistant.read_reply(finish, NAMES)
    arguments = json.dumps({"location": "Paris", "date": "2027-01-02"})
    assert reply.content == "Let me look."
    assert reply.tool_calls == (ToolCall("get_weather", arguments),)
    assert reply.finish_reason == "tool_calls"
    # without tools (or tool_choice none) the text is content, never parsed
    plain = assistant.read_reply(finish, None)
    assert plain.content == finish.text and not plain.tool_calls and plain.finish_reason == "stop"
    # a call cut off by the token limit is text, and the reason says so
    cut = assistant.read_reply(Finish(CALL_TEXT[:40], "length", 10, 16), NAMES)
    assert cut.content == CALL_TEXT[:40] and cut.finish_reason == "length"
