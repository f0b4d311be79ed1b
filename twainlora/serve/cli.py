"""The `twainlora` command: `serve` the pipeline's models, `chat` with any OpenAI-compatible
server.

    twainlora serve [--host 127.0.0.1] [--port 8080] [--api-key KEY]
    twainlora chat [--base-url http://127.0.0.1:8080/v1] [--model style_tool] [--once "..."]

Defaults come from params.yaml's `serve` section (run from the repository root); the API key
may also come from TWAINLORA_API_KEY.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from twainlora.core.params import PARAMS_FILE, load_params

log = logging.getLogger("twainlora")

API_KEY_ENV = "TWAINLORA_API_KEY"
HISTORY_FILE = Path.home() / ".twainlora_history"


def serve_params(path: str, **overrides):
    """params.yaml's serve section, with the flags that were given."""
    from twainlora.serve.settings import ServeParams

    params = load_params("serve", ServeParams, path)
    threads = overrides.pop("threads", None)
    if threads is not None:
        params = dataclasses.replace(
            params, engine=dataclasses.replace(params.engine, threads=threads)
        )
    return dataclasses.replace(params, **{k: v for k, v in overrides.items() if v is not None})


def serve(args) -> int:
    import uvicorn

    from twainlora.serve.server import create_app

    params = serve_params(
        args.params,
        host=args.host,
        port=args.port,
        base=args.base,
        adapters=args.adapters,
        threads=args.threads,
    )
    base = Path(params.base)
    if not (base / "config.json").exists():
        log.error("no base model in %s: run `dvc repro` (or `dvc pull`) first", base)
        return 2
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if api_key is None and params.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "serving on %s without an API key: anyone who can reach it can use it", params.host
        )
    logging.getLogger("twainlora").setLevel(args.log_level.upper())
    app = create_app(base, Path(params.adapters), params, api_key)
    # uvicorn.run installs its SIGTERM/SIGINT handlers: stop accepting, let in-flight requests
    # finish (up to graceful_shutdown_s), shut down, then re-raise the signal so that the exit
    # status says SIGTERM, as process managers expect of a stopped service.
    uvicorn.run(
        app,
        host=params.host,
        port=params.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=params.graceful_shutdown_s,
    )
    return 0


def chat(args) -> int:
    from huggingface_hub import InferenceClient

    from twainlora.domain.weather import WeatherService
    from twainlora.serve.chat import answer, system_prompt

    params = serve_params(args.params)
    base_url = args.base_url or f"http://{params.host}:{params.port}/v1"
    cities = Path(args.cities or weather_world_cities(args.params))
    if not cities.exists():
        log.error("no cities list at %s: pass --cities or run from the repository root", cities)
        return 2
    service = WeatherService.from_csv(cities)
    client = InferenceClient(
        base_url=base_url, api_key=args.api_key or os.environ.get(API_KEY_ENV), timeout=args.timeout
    )
    max_tokens = args.max_tokens or params.max_tokens
    temperature = params.temperature if args.temperature is None else args.temperature
    messages = [{"role": "system", "content": system_prompt(dt.date.today())}]

    def turn(question: str) -> str:
        mark = len(messages)
        messages.append({"role": "user", "content": question})
        try:
            return answer(
                client, args.model, messages, service, max_tokens, temperature, args.tool_choice
            )
        except Exception:
            del messages[mark:]  # a failed turn leaves no half exchange in the conversation
            raise

    if args.once is not None:
        try:
            print(turn(args.once))
        except Exception as e:  # a CLI answers a failed request with its reason and exit 1
            log.error("%s: %s", type(e).__name__, e)
            return 1
        return 0
    return repl(turn, base_url, args.model)


def repl(turn, base_url: str, model: str) -> int:
    import readline

    if HISTORY_FILE.exists():
        readline.read_history_file(HISTORY_FILE)
    print(f"twainlora chat with {model} at {base_url}; Ctrl-D or /quit to leave")
    try:
        while True:
            try:
                question = input("you> ").strip()
            except EOFError:
                print()
                return 0
            if question in ("/quit", "/exit"):
                return 0
            if not question:
                continue
            try:
                print(f"{model}> {turn(question)}")
            except Exception as e:  # keep the session alive: the server may come back
                log.error("%s: %s", type(e).__name__, e)
    except KeyboardInterrupt:
        print()
        return 0
    finally:
        readline.write_history_file(HISTORY_FILE)


def weather_world_cities(params_path: str) -> str:
    """The cities list the tool episodes were built from (params weather_world.cities)."""
    from twainlora.domain.weather import WeatherWorld

    return load_params("weather_world", WeatherWorld, params_path).cities


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="twainlora", description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default=PARAMS_FILE, help="params.yaml to read defaults from")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="serve models/base and every adapter over HTTP")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--api-key", help=f"require this Bearer token (default: ${API_KEY_ENV})")
    p.add_argument("--base", help="base model folder (default: serve.base)")
    p.add_argument("--adapters", help="folder of PEFT adapters (default: serve.adapters)")
    p.add_argument("--threads", type=int, help="torch threads (default: serve.engine.threads)")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=serve)

    p = commands.add_parser("chat", help="chat in the terminal with any OpenAI-compatible server")
    p.add_argument("--base-url", help="default: http://<serve.host>:<serve.port>/v1")
    p.add_argument("--model", default="style_tool", help="base, style or style_tool")
    p.add_argument("--api-key", help=f"Bearer token (default: ${API_KEY_ENV})")
    p.add_argument("--once", metavar="QUESTION", help="ask one question, print the answer, exit")
    p.add_argument("--cities", help="cities CSV for get_weather (default: weather_world.cities)")
    p.add_argument("--max-tokens", type=int, help="default: serve.max_tokens")
    p.add_argument("--temperature", type=float, help="default: serve.temperature")
    p.add_argument(
        "--tool-choice",
        choices=("auto", "required", "none"),
        default="auto",
        help="for the first request of each turn: required forces a weather lookup",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    p.set_defaults(func=chat)

    args = parser.parse_args(argv)
    # Ours at INFO (the chat's tool trace, the server's loading); HTTP clients' per-request
    # lines would drown a chat.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
