"""The real server (`twainlora serve` in a subprocess) on a free loopback port, with the real
SmolLM2 and two tiny real LoRA adapters, driven by the openai client, huggingface_hub's
InferenceClient and plain HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import openai
import pytest
import requests
from huggingface_hub import InferenceClient
from live_server import make_adapters, start_server, stop_server

from twainlora.domain.weather import GET_WEATHER_TOOL, WeatherService
from twainlora.eval.decisions import repeats_itself

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow

API_KEY = "test-key"
CITIES = FIXTURES / "mirror/geo/cities.csv"
SYSTEM = (
    "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=WEATHER] You are Mark Twain. "
    "Use the weather tool when the user asks about the weather. Today's date is 2027-01-01."
)
WEATHER_QUESTION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "What's the weather in Paris on 2027-01-02?"},
]
# A second tool whose string is bounded, so a rambling model still closes its call.
GET_TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 24}},
            "required": ["city"],
        },
    },
}
# A tool call in our format is ~42 SmolLM2 tokens; plain replies stay at 12-24.
CALL_TOKENS = 64


@pytest.fixture(scope="module")
def adapters_dir(base_model_dir, tmp_path_factory) -> Path:
    return make_adapters(base_model_dir, tmp_path_factory.mktemp("adapters"))


@pytest.fixture(scope="module")
def server_log(base_model_dir, adapters_dir, tmp_path_factory):
    """(url, log file) of the module's server."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    proc, url = start_server(base_model_dir, adapters_dir, log, "--api-key", API_KEY)
    yield url, log
    stop_server(proc, log)


@pytest.fixture(scope="module")
def server(server_log):
    return server_log[0]


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=API_KEY, max_retries=0, timeout=300)


def chat(client, model="style", messages=None, **kwargs):
    kwargs.setdefault("max_tokens", 12)
    kwargs.setdefault("temperature", 0)
    messages = messages or [{"role": "user", "content": "Tell me about the Mississippi."}]
    return client.chat.completions.create(model=model, messages=messages, **kwargs)


def assert_valid_calls(calls, tools) -> None:
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    assert calls
    for call in calls:
        assert call.type == "function" and call.id
        jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])


def test_health_and_models(server, client):
    health = requests.get(f"{server}/health", timeout=10).json()
    assert health["status"] == "ok"
    assert [m.id for m in client.models.list()] == ["base", "style", "style_tool"]
    assert client.models.retrieve("style_tool").id == "style_tool"


def test_plain_chat(client):
    r = chat(client)
    choice = r.choices[0]
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert not choice.message.tool_calls
    assert 0 < r.usage.completion_tokens <= 12
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_streaming_equals_non_streaming(client):
    whole = chat(client, "base")
    chunks = list(chat(client, "base", stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    finals = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finals == [whole.choices[0].finish_reason]
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stop_string_ends_the_reply_before_it(client):
    text = chat(client, "base").choices[0].message.content
    word = text.split()[len(text.split()) // 2]
    expected = text[: text.index(word)]
    stopped = chat(client, "base", stop=[word]).choices[0]
    assert (stopped.message.content, stopped.finish_reason) == (expected, "stop")
    chunks = list(chat(client, "base", stop=word, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected


def test_inference_client_chat_and_stream(server, client):
    hf = InferenceClient(base_url=f"{server}/v1", api_key=API_KEY, timeout=300)
    messages = [{"role": "user", "content": "Tell me about the Mississippi."}]
    expected = chat(client, "style_tool", messages).choices[0].message.content
    r = hf.chat_completion(messages=messages, model="style_tool", max_tokens=12, temperature=0)
    assert r.choices[0].message.content == expected
    stream = hf.chat_completion(
        messages=messages, model="style_tool", max_tokens=12, temperature=0, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == expected


def test_tool_call_round_trip(client):
    tools = [GET_WEATHER_TOOL]
    messages = list(WEATHER_QUESTION)
    r = chat(client, "base", messages, tools=tools, tool_choice="required", max_tokens=CALL_TOKENS)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert_valid_calls(choice.message.tool_calls, tools)
    call = choice.message.tool_calls[0]
    result = WeatherService.from_csv(CITIES).call(call.function.arguments)
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
    ]
    final = chat(client, "base", messages, tools=tools, max_tokens=24).choices[0]
    assert final.finish_reason in ("stop", "length")
    assert final.message.content and not final.message.tool_calls


def test_tool_choice_none_never_calls(client):
    r = chat(client, "style_tool", WEATHER_QUESTION, tools=[GET_WEATHER_TOOL], tool_choice="none")
    message = r.choices[0].message
    assert not message.tool_calls and "<tool_call>" not in message.content
    assert r.choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("model", ["base", "style_tool"])
def test_tool_choice_required_gives_valid_calls(client, model):
    tools = [GET_WEATHER_TOOL, GET_TIME_TOOL]
    r = chat(
        client, model, WEATHER_QUESTION, tools=tools, tool_choice="required", max_tokens=CALL_TOKENS
    )
    assert r.choices[0].finish_reason == "tool_calls"
    assert_valid_calls(r.choices[0].message.tool_calls, tools)


def test_tool_choice_named_calls_that_function(client):
    tools = [GET_WEATHER_TOOL, GET_TIME_TOOL]
    named = {"type": "function", "function": {"name": "get_time"}}
    chunks = list(
        chat(
            client,
            "style",
            WEATHER_QUESTION,
            tools=tools,
            tool_choice=named,
            max_tokens=CALL_TOKENS,
            stream=True,
        )
    )
    deltas = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or []]
    assert [d.function.name for d in deltas] and {d.function.name for d in deltas} == {"get_time"}
    for d in deltas:
        jsonschema.validate(
            json.loads(d.function.arguments), GET_TIME_TOOL["function"]["parameters"]
        )
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_seed_makes_sampling_repeatable(client):
    first, second = (
        chat(client, "style", temperature=1.0, seed=7).choices[0].message.content for _ in range(2)
    )
    assert first == second


def post(server, body, key=API_KEY, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    headers["Content-Type"] = "application/json"
    return requests.post(
        f"{server}/v1/chat/completions", data=body, headers=headers, timeout=300, **kwargs
    )


OK_BODY = {"model": "base", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


@pytest.mark.parametrize(
    ("body", "key", "status", "code"),
    [
        (b'{"model": "base", "messages": [', API_KEY, 400, "invalid_json"),
        ({"model": "base", "messages": "hi"}, API_KEY, 422, "invalid_type"),
        ({**OK_BODY, "temperature": "hot"}, API_KEY, 422, "invalid_type"),
        ({**OK_BODY, "frequency_penalty": 3}, API_KEY, 422, "invalid_type"),
        ({**OK_BODY, "no_repeat_ngram_size": -1}, API_KEY, 422, "invalid_type"),
        ({**OK_BODY, "model": "gpt-4"}, API_KEY, 404, "model_not_found"),
        (
            {**OK_BODY, "messages": [{"role": "user", "content": "word " * 3000}]},
            API_KEY,
            400,
            "context_length_exceeded",
        ),
        (OK_BODY, None, 401, "invalid_api_key"),
        (OK_BODY, "wrong-key", 401, "invalid_api_key"),
        (b'{"pad": "' + b"x" * 2_000_000 + b'"}', API_KEY, 413, "request_too_large"),
        (
            b'{"model": "base", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            API_KEY,
            400,
            "invalid_json",
        ),
    ],
    ids=[
        "malformed",
        "wrong-type",
        "bad-number",
        "penalty-range",
        "ngram-range",
        "model",
        "context",
        "no-key",
        "bad-key",
        "size",
        "nested",
    ],
)
def test_errors_have_openai_shape_and_server_keeps_serving(server, body, key, status, code):
    r = post(server, body, key)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["message"]
    after = post(server, OK_BODY)
    assert after.status_code == 200 and after.json()["choices"][0]["message"]["content"]


def test_the_repetition_guard_is_the_default_and_a_request_may_set_it(client):
    # The base model loops on this greedily. no_repeat_ngram_size (through the openai
    # client's extra_body) 0 lets it; the server's default (5) changes the reply; 3 leaves
    # no 4-word run three times.
    messages = [{"role": "user", "content": "Repeat after me: la la la."}]
    plain = {"frequency_penalty": 0, "max_tokens": 80, "model": "base", "messages": messages}

    def reply(**extra) -> str:
        return chat(client, **plain, **extra).choices[0].message.content

    off = reply(extra_body={"no_repeat_ngram_size": 0})
    assert repeats_itself(off)
    assert reply() != off
    assert not repeats_itself(reply(extra_body={"no_repeat_ngram_size": 3}))


def test_openai_client_raises_typed_errors(server, client):
    with pytest.raises(openai.NotFoundError):
        chat(client, "gpt-4")
    with pytest.raises(openai.BadRequestError) as error:
        chat(client, messages=[{"role": "user", "content": "word " * 3000}])
    assert error.value.code == "context_length_exceeded"
    anonymous = openai.OpenAI(base_url=f"{server}/v1", api_key="nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()


def test_concurrent_burst_equals_sequential(client):
    """Six requests at once over three models: any mixing of adapters between requests
    would change some greedy output."""
    jobs = [
        (model, prompt)
        for model in ("base", "style", "style_tool")
        for prompt in ("Tell me about the Mississippi.", "What is a steamboat?")
    ]

    def run(job):
        model, prompt = job
        messages = [{"role": "user", "content": prompt}]
        return chat(client, model, messages, max_tokens=32).choices[0].message.content

    sequential = [run(job) for job in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        concurrent = list(pool.map(run, jobs))
    assert concurrent == sequential
    # The adapters really change the output, so the comparison above can catch mixing (the
    # test adapters are small: in 12 tokens of bf16 weights two models agreed on both prompts).
    assert len({tuple(sequential[i : i + 2]) for i in (0, 2, 4)}) == 3


def test_clients_that_go_away_cancel_their_requests_alone(server_log, client):
    """A streaming client that closes after the first chunk and a plain one that times out:
    both generations are cancelled (the log says so, long before their 400 tokens), while a
    request decoding beside them answers as it does alone."""
    url, log = server_log
    alone = chat(client, "style_tool").choices[0].message.content
    headers = {"Authorization": f"Bearer {API_KEY}"}
    body = {"model": "style", "messages": [{"role": "user", "content": "Tell me a long story."}]}
    body |= {"max_tokens": 400, "temperature": 0}
    with requests.post(f"{url}/v1/chat/completions", json={**body, "stream": True},
                       headers=headers, stream=True, timeout=60) as r:  # fmt: skip
        assert r.status_code == 200
        next(r.iter_lines())
    with pytest.raises(requests.Timeout):
        requests.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=3)
    assert chat(client, "style_tool").choices[0].message.content == alone
    deadline = time.monotonic() + 120  # a hang guard, not a timing check
    while requests.get(f"{url}/health", timeout=10).json()["waiting"] > 0:
        assert time.monotonic() < deadline, "the abandoned generations never ended"
        time.sleep(0.2)
    cancelled = [line for line in log.read_text().splitlines() if "cancelled after" in line]
    assert len(cancelled) == 2, log.read_text()[-3000:]
    assert all(int(line.split("after ")[1].split()[0]) < 400 for line in cancelled)


def test_chat_once_runs_the_tool_locally(server):
    proc = subprocess.run(
        [sys.executable, "-m", "twainlora.serve.cli", "chat", "--base-url", f"{server}/v1"]
        + ["--model", "base", "--api-key", API_KEY, "--cities", str(CITIES)]
        + ["--tool-choice", "required", "--max-tokens", str(CALL_TOKENS), "--temperature", "0"]
        + ["--once", "What's the weather in Paris on 2027-01-02?"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "get_weather(" in proc.stderr  # the call, and the local service's answer
    assert proc.stdout.strip()


def test_sigterm_lets_the_request_in_flight_finish(base_model_dir, tmp_path):
    log = tmp_path / "serve.log"
    proc, url = start_server(base_model_dir, tmp_path / "no_adapters", log)
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(response=post(url, {**OK_BODY, "max_tokens": 16}, None))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while requests.get(f"{url}/health", timeout=10).json()["waiting"] == 0:
        assert time.monotonic() < deadline and thread.is_alive(), "the request never started"
        time.sleep(0.02)
    stop_server(proc, log)
    thread.join()
    assert result["response"].status_code == 200
    assert result["response"].json()["usage"]["completion_tokens"] > 0
