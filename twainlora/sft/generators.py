"""Text generators behind one interface: `generate(task) -> str`.

- `TemplateGenerator` (the default) fills programmatic templates from the task's slots: works
  offline, deterministic for a seed.
- `EndpointGenerator` sends the task's prompt to any OpenAI-compatible chat endpoint (base
  URL, model and key from params and the environment) and caches every request/response on
  disk, keyed by a hash of the request, so a rerun makes no request and gets the same text.

A generator that cannot produce text raises GenerationError with the reason; the synth stage
turns it into a reject row, never into a half-written output.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from twainlora.core.endpoint import ENV_PREFIXES, EndpointConfig
from twainlora.core.jsonl import atomic_open


class GenerationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Task:
    """What to generate: `kind` picks the template family; `prompt` is what an endpoint sees;
    `slots` fill templates; `key` makes the choice reproducible."""

    kind: str
    key: str
    prompt: str
    slots: dict = field(default_factory=dict)
    system: str = ""


class TemplateGenerator:
    name = "templates"

    def __init__(self, templates: dict[str, list[str]], seed: int):
        self.templates = templates
        self.seed = seed

    def generate(self, task: Task) -> str:
        options = self.templates.get(task.kind)
        if not options:
            raise GenerationError(f"no templates for kind {task.kind!r}")
        rng = random.Random(f"{self.seed}:{task.kind}:{task.key}")
        try:
            text = " ".join(rng.choice(options).format(**task.slots).split())
            return text[:1].upper() + text[1:]
        except KeyError as e:
            raise GenerationError(f"template for {task.kind!r} needs slot {e}") from e


class EndpointGenerator:
    name = "endpoint"

    def __init__(
        self, config: EndpointConfig, cache_dir: str | Path, seed: int, role: str = "generator"
    ):
        config = config.resolved(role)
        if not config.configured:
            prefix = ENV_PREFIXES[role]
            raise ValueError(
                f"the endpoint {role} needs a base_url and a model (params or "
                f"{prefix}_BASE_URL/_MODEL)"
            )
        self.config = config
        self.cache_dir = Path(cache_dir)
        self.seed = seed
        self.requests = 0  # requests actually sent (cache misses)
        self._client = None

    def _request(self, task: Task) -> dict:
        messages = ([{"role": "system", "content": task.system}] if task.system else []) + [
            {"role": "user", "content": task.prompt}
        ]
        return {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": self.seed,
        }

    def cache_path(self, request: dict) -> Path:
        digest = hashlib.sha256(
            json.dumps(request, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    def client(self):
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(
                base_url=self.config.base_url,
                timeout=self.config.timeout_s,
                max_retries=0,
                api_key=os.environ.get(self.config.api_key_env) or "not-needed",
            )
        return self._client

    def generate(self, task: Task) -> str:
        request = self._request(task)
        path = self.cache_path(request)
        if path.exists():
            return json.loads(path.read_text("utf-8"))["text"]
        import openai

        self.requests += 1
        try:
            response = self.client().chat.completions.create(**request)
            text = (response.choices[0].message.content or "").strip()
        except openai.APITimeoutError as e:
            raise GenerationError(
                f"endpoint {self.config.base_url} timed out after {self.config.timeout_s}s"
            ) from e
        except openai.APIStatusError as e:
            raise GenerationError(
                f"endpoint {self.config.base_url} answered HTTP {e.status_code}"
            ) from e
        except (openai.APIError, json.JSONDecodeError, AttributeError, IndexError, TypeError) as e:
            raise GenerationError(
                f"endpoint {self.config.base_url} gave no usable completion ({type(e).__name__}: {e})"
            ) from e
        if not text:
            raise GenerationError(f"endpoint {self.config.base_url} returned empty text")
        with atomic_open(path) as f:
            json.dump({"request": request, "text": text}, f, ensure_ascii=False, sort_keys=True)
        return text
