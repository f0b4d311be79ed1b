import json

import llguidance
import llguidance.hf
import pytest

from twainlora.core.tokens import load_tokenizer
from twainlora.core.toolcalls import (
    ToolCall,
    ToolCallError,
    ToolCallStream,
    closed_objects,
    parse_tool_call,
    split_tool_calls,
    tool_grammar,
)
from twainlora.domain.weather import GET_WEATHER_TOOL

CALL = '<tool_call>{"name": "get_weather", "arguments": {"location": "Paris", "date": "2027-01-02"}}</tool_call>'
PARIS = ToolCall("get_weather", '{"location": "Paris", "date": "2027-01-02"}')
NAMES = frozenset({"get_weather"})


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "get_weather", "arguments": {"location": "Paris", "date": "2027-01-02"}}',
        '{"name":"get_weather","arguments":{"location":"Paris","date":"2027-01-02"}}',
        '{"arguments": {"location": "Paris", "date": "2027-01-02"}, "name": "get_weather"}',
        # some models write the arguments as a JSON string, as OpenAI's API carries them
        '{"name": "get_weather", "arguments": "{\\"location\\": \\"Paris\\", \\"date\\": \\"2027-01-02\\"}"}',
    ],
)
def test_parse_tool_call_accepts(body):
    assert parse_tool_call(body, NAMES) == PARIS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"name": "get_weather", "arguments": {', "tool call is not JSON"),
        ('["get_weather", {}]', "must be a JSON object, got list"),
        ('{"arguments": {}}', 'needs a non-empty string "name"'),
        ('{"name": "", "arguments": {}}', 'needs a non-empty string "name"'),
        ('{"name": 7, "arguments": {}}', 'needs a non-empty string "name"'),
        ('{"name": "get_time", "arguments": {}}', "names 'get_time', not one of"),
        ('{"name": "get_weather"}', 'has no "arguments"'),
        ('{"name": "get_weather", "arguments": ["Paris"]}', '"arguments" must be a JSON object'),
        ('{"name": "get_weather", "arguments": "Paris"}', "arguments string is not JSON"),
        ('{"name": "get_weather", "arguments": {}, "id": 1}', r"unknown key\(s\) \['id'\]"),
    ],
)
def test_parse_tool_call_rejects(body, message):
    with pytest.raises(ToolCallError, match=message):
        parse_tool_call(body, NAMES)


@pytest.mark.parametrize(
    ("text", "content", "calls"),
    [
        ("It is sunny.", "It is sunny.", []),
        (CALL, None, [PARIS]),
        ("Let me look.\n" + CALL, "Let me look.", [PARIS]),
        (CALL + "\n" + CALL, None, [PARIS, PARIS]),
        # what does not parse stays visible as content, never dropped
        ("<tool_call>{oops}</tool_call>", "<tool_call>{oops}</tool_call>", []),
        ('Sure <tool_call>{"name": "get_w', 'Sure <tool_call>{"name": "get_w', []),
        ("Use <tool_ for that", "Use <tool_ for that", []),
    ],
)
def test_split_tool_calls(text, content, calls):
    assert split_tool_calls(text, NAMES) == (content, calls)


@pytest.mark.parametrize("text", ["Let me look.\n" + CALL, CALL + "\n" + CALL, "a <tool b", "x<"])
def test_stream_fed_piecewise_equals_whole(text):
    stream = ToolCallStream(NAMES)
    events = []
    for ch in text:
        events += stream.feed(ch)
        # a half-written marker is never released as content
        assert not any(isinstance(e, str) and e.endswith("<tool") for e in events)
    events += stream.close()
    content = "".join(e for e in events if isinstance(e, str)).strip() or None
    assert (content, [e for e in events if isinstance(e, ToolCall)]) == split_tool_calls(
        text, NAMES
    )


def test_closed_objects_closes_only_objects_that_list_properties():
    schema = {
        "type": "object",
        "properties": {
            "where": {"type": "object", "properties": {"city": {"type": "string"}}},
            "extra": {"type": "object"},
            "open": {"type": "object", "properties": {}, "additionalProperties": True},
            "tags": {"type": "array", "items": {"properties": {"k": {}}}},
            "const": {"const": {"properties": 1}},
        },
    }
    closed = closed_objects(schema)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["where"]["additionalProperties"] is False
    assert "additionalProperties" not in closed["properties"]["extra"]
    assert closed["properties"]["open"]["additionalProperties"] is True
    assert closed["properties"]["tags"]["items"]["additionalProperties"] is False
    assert closed["properties"]["const"] == {"const": {"properties": 1}}  # data, not a schema
    assert "additionalProperties" not in schema  # the input is left alone


GET_TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def ll_tokenizer():
    return llguidance.hf.from_tokenizer(load_tokenizer("smollm2"))


def accepts(ll_tokenizer, grammar: str, text: str) -> bool:
    """Whether the grammar lets a model write exactly `text` and stop there."""
    matcher = llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    tokens = load_tokenizer("smollm2").encode(text, add_special_tokens=False)
    return matcher.consume_tokens(tokens) and matcher.is_accepting()


def call(name: str, arguments: dict) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


PARIS_ARGS = {"location": "Paris", "date": "2027-01-02"}


@pytest.mark.parametrize(
    ("choice", "parallel", "text", "ok"),
    [
        ("required", False, CALL, True),
        ("required", False, "It is sunny.", False),
        ("required", False, call("get_weather", {"location": 3, "date": "x"}), False),
        ("required", False, call("get_weather", {"location": "Paris"}), False),  # date required
        ("required", False, call("get_weather", {**PARIS_ARGS, "unit": "C"}), False),  # closed
        ("required", False, call("get_time", {"city": "Paris"}), True),
        ("required", False, call("send_mail", {"to": "x"}), False),
        ("required", False, CALL + "\n" + CALL, False),
        ("required", True, CALL + "\n" + CALL, True),
        ('{"name": "get_time"}', False, call("get_time", {"city": "Paris"}), True),
        ('{"name": "get_time"}', False, CALL, False),
        ("auto", False, "It is sunny.", True),
        ("auto", False, CALL, True),
        ("auto", False, "Let me look.\n" + CALL, False),  # a call opens the turn, or none
        ("auto", False, "Let me look. <tool_call>not json</tool_call>", False),
        ("auto", False, call("send_mail", {"to": "x"}), False),
        ("none", False, "It is sunny.", True),
        ("none", False, CALL, False),
        ("none", False, "Sure: <tool_call>", False),
    ],
)
def test_tool_grammar(ll_tokenizer, choice, parallel, text, ok):
    if choice.startswith("{"):
        choice = json.loads(choice)
    grammar = tool_grammar([GET_WEATHER_TOOL, GET_TIME_TOOL], choice, parallel)
    assert accepts(ll_tokenizer, grammar, text) is ok


def test_tool_grammar_rejects_a_named_function_not_in_tools():
    with pytest.raises(ValueError, match="'send_mail', which is not in tools"):
        tool_grammar([GET_WEATHER_TOOL], {"name": "send_mail"}, False)
