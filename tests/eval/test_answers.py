"""Evaluated behaviour is served behaviour: the evaluate stage's answers (twainlora/eval/
answers.py, the engine in this process) equal what `twainlora serve` returns over HTTP for
the same request, with the real SmolLM2 and two tiny real adapters, greedy."""

from __future__ import annotations

import json

import pytest
import requests
from live_server import make_adapters, start_server, stop_server

from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval import answers
from twainlora.eval.prompts import Item
from twainlora.eval.tools import first_call, tool_names
from twainlora.serve import assistant
from twainlora.serve.engine import EngineConfig, adapter_dirs

pytestmark = pytest.mark.slow

SYSTEM = {
    "role": "system",
    "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] You are Mark Twain. Use the "
    "weather tool when the user asks about the weather. Today's date is 2027-01-01.",
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {
        "name": "get_weather",
        "arguments": json.dumps({"location": "Paris", "date": "2027-01-02"}),
    },
}
RESULT = {"location": "Paris, France", "date": "2027-01-02", "temperature_c": 4, "condition": "Fog"}
ITEMS = [
    Item(
        "style",
        "twain",
        (
            {"role": "system", "content": "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=GENERAL]"},
            {"role": "user", "content": "Tell me about the Mississippi."},
        ),
    ),
    Item(
        "call",
        "call_explicit",
        (SYSTEM, {"role": "user", "content": "What's the weather in Paris on 2027-01-02?"}),
        (GET_WEATHER_TOOL,),
    ),
    Item(
        "answer",
        "after_result",
        (
            SYSTEM,
            {"role": "user", "content": "What's the weather in Paris on 2027-01-02?"},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(RESULT)},
        ),
        (GET_WEATHER_TOOL,),
    ),
]
MAX_TOKENS = 16
CALL_TOKENS = 64  # a call in our format is ~42 SmolLM2 tokens


@pytest.fixture(scope="module")
def adapters(base_model_dir, tmp_path_factory):
    return make_adapters(base_model_dir, tmp_path_factory.mktemp("adapters"))


@pytest.fixture(scope="module")
def engine(base_model_dir, adapters):
    config = EngineConfig("float32", 1, 2048, max_batch=8, prefix_cache_tokens=4096)
    return answers.load_engine(base_model_dir, adapter_dirs(adapters), config)


@pytest.fixture(scope="module")
def server(base_model_dir, adapters, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "serve.log"
    proc, url = start_server(base_model_dir, adapters, log)
    yield url
    stop_server(proc, log)


def served(server, model, item, max_tokens, **extra) -> dict:
    """The server's message, finish reason and usage for the item, asked greedily and
    otherwise with the server's defaults (tool_choice and parallel_tool_calls unset)."""
    body = {"model": model, "messages": list(item.messages), "max_tokens": max_tokens}
    body |= {"temperature": 0, **extra}
    if item.tools:
        body["tools"] = list(item.tools)
    r = requests.post(f"{server}/v1/chat/completions", json=body, timeout=600)
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    return {
        "content": choice["message"]["content"],
        "calls": [
            (c["function"]["name"], c["function"]["arguments"])
            for c in choice["message"].get("tool_calls") or []
        ],
        "finish_reason": choice["finish_reason"],
        "completion_tokens": r.json()["usage"]["completion_tokens"],
    }


def as_served(reply: assistant.Reply) -> dict:
    return {
        "content": reply.content,
        "calls": [(c.name, c.arguments) for c in reply.tool_calls],
        "finish_reason": reply.finish_reason,
        "completion_tokens": reply.finish.completion_tokens,
    }


def test_evaluate_answers_are_the_servers(engine, server):
    decoding = answers.Decoding(parallel_tool_calls=False)
    evaluated, http = [], []
    for model in ("base", "style", "style_tool"):
        for item in ITEMS:
            generation = answers.start(engine, model, item, MAX_TOKENS, decoding)
            evaluated.append(as_served(generation.reply()))
            http.append(served(server, model, item, MAX_TOKENS))
    assert evaluated == http
    # The adapters really change the answers, so the comparison can tell models apart.
    per_model = [
        json.dumps(evaluated[i : i + len(ITEMS)]) for i in range(0, len(evaluated), len(ITEMS))
    ]
    assert len(set(per_model)) == 3


def test_tool_calls_are_parsed_as_the_server_parses_them(engine, server):
    """Forced calls, since tiny random adapters seldom call under auto: the same calls, and
    the evaluation's reading of the generated text finds the server's first call."""
    item = ITEMS[1]
    for model in ("base", "style_tool"):
        reply = assistant.reply(
            engine,
            model,
            item.messages,
            sampling=answers.Decoding(False).sampling(CALL_TOKENS),
            tools=item.tools,
            tool_choice="required",
        )
        http = served(server, model, item, CALL_TOKENS, tool_choice="required")
        assert as_served(reply) == http and http["calls"]
        call = first_call(reply.finish.text, tool_names(item.tools))
        assert (call.name, call.arguments) == http["calls"][0]
