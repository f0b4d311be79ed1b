"""An OpenAI-compatible chat server for the base model and the pipeline's adapters.

    twainlora serve [--host 127.0.0.1] [--port 8080] [--api-key KEY]

GET /health, GET /v1/models (ids: `base` and one per folder under models/adapters/),
POST /v1/chat/completions (messages, tools, tool_choice, temperature, top_p, frequency_penalty,
presence_penalty, max_tokens, stop, seed, stream; and transformers' no_repeat_ngram_size, which
OpenAI's API has not). `model` picks the adapter, as in TGI. Tool calls are decoded under a grammar
(twainlora.core.toolcalls) so that every call the server returns parses and fits its schema.
Errors have OpenAI's shape, {"error": {"message", "type", "param", "code"}}.

Not `transformers serve` (5.24): it serves one model per id with no named PEFT adapters over a
shared base, ignores tool_choice (and response_format), parses tool calls only for Qwen/Gemma
model types (SmolLM2's `<tool_call>` text comes back as content) and has no API key.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from twainlora.core.toolcalls import ToolCall, ToolCallStream
from twainlora.serve import assistant
from twainlora.serve.assistant import Generation, Reply, finish_reason
from twainlora.serve.engine import Engine, Finish, Sampling, adapter_dirs
from twainlora.serve.settings import ServeParams

log = logging.getLogger("twainlora.serve.server")

DISCONNECT_POLL_S = 0.5  # how often a non-streamed request checks that its client is there


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, param=None, code=None) -> JSONResponse:
    type_ = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse(error_body(message, type_, param, code), status_code=status)


# The request, as OpenAI documents it. Fields we do not act on are ignored, except the few
# whose silent omission would change the answer (n, logprobs, response_format): those are 400s.


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class FunctionCall(_Lenient):
    name: str
    arguments: str | dict


class ToolCallIn(_Lenient):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionDef(_Lenient):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict | None = None


class Tool(_Lenient):
    type: Literal["function"]
    function: FunctionDef


class FunctionName(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"]
    function: FunctionName


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatRequest(_Lenient):
    model: str
    messages: list[Message] = Field(min_length=1)
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    # Not OpenAI's: transformers' generate option, for the server's repetition guard
    # (serve.no_repeat_ngram_size when unset; 0 turns it off).
    no_repeat_ngram_size: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    seed: int | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: bool | None = None
    response_format: dict | None = None


@dataclass
class Job:
    """A validated request, its generation started (lazily)."""

    generation: Generation
    include_usage: bool


def create_app(
    base_dir: Path, adapters_dir: Path, params: ServeParams, api_key: str | None = None
) -> FastAPI:
    """The server for the model in `base_dir` and every adapter under `adapters_dir`."""
    adapters = adapter_dirs(Path(adapters_dir))
    if not adapters:
        log.warning("no adapters under %s: serving the base model only", adapters_dir)
    engine = Engine.load(Path(base_dir), adapters, params.engine)
    started = int(time.time())
    app = FastAPI(title="twainlora", docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.param, exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}")

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), api_key.encode()):
            raise ApiError(
                401, "missing or wrong API key (Authorization: Bearer ...)", code="invalid_api_key"
            )

    def model_card(model_id: str) -> dict:
        return {"id": model_id, "object": "model", "created": started, "owned_by": "twainlora"}

    @app.get("/health")
    async def health():
        return {"status": "ok", "models": list(engine.model_ids), "waiting": engine.waiting}

    @app.get("/v1/models")
    async def list_models(request: Request):
        authorize(request)
        return {"object": "list", "data": [model_card(m) for m in engine.model_ids]}

    @app.get("/v1/models/{model_id}")
    async def get_model(model_id: str, request: Request):
        authorize(request)
        if model_id not in engine.model_ids:
            raise _unknown_model(model_id, engine)
        return model_card(model_id)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        authorize(request)
        body = await read_body(request, params.max_body_bytes)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ApiError(
                400, f"the request body is not valid JSON: {e}", code="invalid_json"
            ) from e
        except RecursionError as e:  # e.g. 5,000 nested arrays: Python's parser gives up
            raise ApiError(
                400, "the request body is not valid JSON: nested too deeply", code="invalid_json"
            ) from e
        try:
            req = ChatRequest.model_validate(payload)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ApiError(422, f"{where}: {first['msg']}", param=where, code="invalid_type") from e
        job = prepare(req, engine, params)
        if req.stream:
            return StreamingResponse(stream_chunks(job), media_type="text/event-stream")
        reply = await reply_unless_gone(job.generation, request)
        return completion_body(job.generation.model, reply)

    return app


def _unknown_model(model_id: str, engine: Engine) -> ApiError:
    return ApiError(
        404,
        f"the model {model_id!r} does not exist; served: {list(engine.model_ids)}",
        param="model",
        code="model_not_found",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or a 413 past `limit` bytes. An oversized body is still read (to a bound)
    so that the client, which sends it all before reading, sees the 413 rather than a reset."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > 64 * limit:
            break
    if size > limit:
        raise ApiError(413, f"the request body is over {limit} bytes", code="request_too_large")
    return b"".join(chunks)


def prepare(req: ChatRequest, engine: Engine, params: ServeParams) -> Job:
    """Validate what pydantic cannot, then start (lazily) the generation on the one path
    every generation takes (twainlora.serve.assistant)."""
    if req.model not in engine.model_ids:
        raise _unknown_model(req.model, engine)
    if req.n != 1:
        raise ApiError(400, "only n=1 is supported", param="n", code="unsupported")
    if req.logprobs:
        raise ApiError(400, "logprobs are not supported", param="logprobs", code="unsupported")
    if req.response_format and req.response_format.get("type", "text") != "text":
        raise ApiError(
            400,
            "only response_format text is supported",
            param="response_format",
            code="unsupported",
        )
    choice = req.tool_choice
    if isinstance(choice, NamedToolChoice):
        choice = {"name": choice.function.name}
    stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
    sampling = Sampling(
        max_tokens=req.max_completion_tokens or req.max_tokens or params.max_tokens,
        temperature=params.temperature if req.temperature is None else req.temperature,
        top_p=params.top_p if req.top_p is None else req.top_p,
        frequency_penalty=(
            params.frequency_penalty if req.frequency_penalty is None else req.frequency_penalty
        ),
        presence_penalty=(
            params.presence_penalty if req.presence_penalty is None else req.presence_penalty
        ),
        no_repeat_ngram_size=(
            params.no_repeat_ngram_size
            if req.no_repeat_ngram_size is None
            else req.no_repeat_ngram_size
        ),
        seed=req.seed,
        stop=stop,
    )
    try:
        generation = assistant.start(
            engine,
            req.model,
            [request_message(m) for m in req.messages],
            sampling=sampling,
            tools=[t.model_dump(exclude_none=True) for t in req.tools or []],
            tool_choice=choice,
            parallel_tool_calls=(
                params.parallel_tool_calls
                if req.parallel_tool_calls is None
                else req.parallel_tool_calls
            ),
        )
    except assistant.RequestError as e:
        raise ApiError(400, e.message, param=e.param, code=e.code) from e
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    return Job(generation, include_usage)


def request_message(message: Message) -> dict:
    out = message.model_dump(include={"role", "content"})
    if message.tool_calls:
        out["tool_calls"] = [c.model_dump() for c in message.tool_calls]
    return out


def openai_tool_calls(calls: list[ToolCall], first_index: int = 0) -> list[dict]:
    return [
        {
            "index": first_index + i,
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments},
        }
        for i, c in enumerate(calls)
    ]


def usage(finish: Finish) -> dict:
    return {
        "prompt_tokens": finish.prompt_tokens,
        "completion_tokens": finish.completion_tokens,
        "total_tokens": finish.prompt_tokens + finish.completion_tokens,
    }


async def reply_unless_gone(generation: Generation, request: Request) -> Reply:
    """The whole reply; a client that disconnects first cancels the generation, which then
    frees its place in the batch (what comes back is never sent)."""
    task = asyncio.ensure_future(run_in_threadpool(generation.reply))
    while not task.done():
        await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
        if not task.done() and await request.is_disconnected():
            generation.cancel.set()
    return task.result()


def completion_body(model: str, reply: Reply) -> dict:
    message = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {k: v for k, v in c.items() if k != "index"}
            for c in openai_tool_calls(list(reply.tool_calls))
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage(reply.finish),
    }


async def stream_chunks(job: Job):
    """Server-sent events in OpenAI's chunk shape, then `data: [DONE]`. The generation runs in
    its own thread; a client that goes away cancels it at the next token."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    generation = job.generation

    def produce():
        try:
            for event in generation.events:
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except Exception as e:  # handed to the client as an error event, below
            loop.call_soon_threadsafe(queue.put_nowait, e)

    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(delta: dict | None, reason: str | None = None, extra: dict | None = None) -> str:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]
        )
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": generation.model,
            "choices": choices,
            **(extra or {}),
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    names = generation.tool_names
    parser = ToolCallStream(names) if names is not None else None
    calls: list[ToolCall] = []

    def deltas(events) -> list[str]:
        out = []
        for event in events:
            if isinstance(event, ToolCall):
                out.append(chunk({"tool_calls": openai_tool_calls([event], len(calls))}))
                calls.append(event)
            else:
                out.append(chunk({"content": event}))
        return out

    threading.Thread(target=produce, daemon=True, name="generation").start()
    try:
        yield chunk({"role": "assistant", "content": ""})
        while True:
            event = await queue.get()
            if isinstance(event, Exception):
                log.error("generation failed: %r", event)
                yield f"data: {json.dumps(error_body(str(event), 'server_error'))}\n\n"
                break
            if isinstance(event, Finish):
                for line in deltas(parser.close() if parser else []):
                    yield line
                yield chunk({}, finish_reason(event, calls))
                if job.include_usage:
                    yield chunk(None, extra={"usage": usage(event)})
                break
            for line in deltas(parser.feed(event) if parser else [event]):
                yield line
        yield "data: [DONE]\n\n"
    finally:
        generation.cancel.set()
