"""The models' answers, generated on the server's path (twainlora.serve.assistant): the same
engine, chat template, tool-call grammar and reply parsing as `twainlora serve`, so evaluated
behaviour is served behaviour. Evaluate asks as a client with the server's defaults would
(tool_choice unset, i.e. "auto"), but greedily, so that reruns give the same answers.

Every request is queued at once: the engine decodes them in batches of serve.max_batch,
and a greedy answer does not depend on what it was batched with.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from twainlora.eval.prompts import Item
from twainlora.serve import assistant
from twainlora.serve.engine import Engine, EngineConfig, Sampling
from twainlora.serve.settings import ServeParams

log = logging.getLogger("twainlora.eval.answers")


@dataclass(frozen=True)
class Decoding:
    """The request settings every answer is generated with, besides max_tokens."""

    parallel_tool_calls: bool  # the server's default: serve.parallel_tool_calls
    # The server's repetition guard: serve.frequency_penalty, presence_penalty and
    # no_repeat_ngram_size
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    no_repeat_ngram_size: int = 0
    temperature: float = 0.0  # greedy
    top_p: float = 1.0

    @classmethod
    def served(cls, params: ServeParams) -> Decoding:
        """Greedy, with the server's defaults for everything else a request may leave unset."""
        return cls(
            params.parallel_tool_calls,
            params.frequency_penalty,
            params.presence_penalty,
            params.no_repeat_ngram_size,
        )

    def sampling(self, max_tokens: int) -> Sampling:
        return Sampling(
            max_tokens,
            self.temperature,
            self.top_p,
            seed=None,
            frequency_penalty=self.frequency_penalty,
            presence_penalty=self.presence_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )

    def describe(self) -> dict:
        """For metrics: what generated the answers, and how."""
        return {
            "engine": "twainlora.serve.engine",
            "path": "twainlora.serve.assistant",
            "tool_choice": assistant.DEFAULT_TOOL_CHOICE,
            "tool_grammar": True,
            **asdict(self),
        }


@dataclass
class Stats:
    prompts: int = 0
    prompt_tokens: int = 0
    new_tokens: int = 0
    prompt_tokens_reused: int = 0  # of prompt_tokens, copied from the engine's prefix cache
    seconds: float = 0.0
    finish_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "generated_tokens": self.new_tokens,
            "prompt_tokens": self.prompt_tokens,
            "prompt_tokens_from_prefix_cache": self.prompt_tokens_reused,
            "finish_reasons": dict(sorted(self.finish_reasons.items())),
            "tokens_per_s": round(self.tokens_per_s, 1),
        }

    def add(self, reply: assistant.Reply) -> None:
        self.prompts += 1
        self.prompt_tokens += reply.finish.prompt_tokens
        self.new_tokens += reply.finish.completion_tokens
        reason = reply.finish_reason
        self.finish_reasons[reason] = self.finish_reasons.get(reason, 0) + 1


def load_engine(base: Path, adapters: dict[str, Path], config: EngineConfig) -> Engine:
    """The server's engine over the base model and `adapters`. Call before torch is imported:
    with two busy-waiting OpenMP threads and a neighbour job on the same two cores,
    generation ran 8x slower (1 token/s) than with passive waiting."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return Engine.load(base, adapters, config)


def start(
    engine: Engine, model: str, item: Item, max_tokens: int, decoding: Decoding
) -> assistant.Generation:
    """The generation `twainlora serve` runs for the item's messages and tools with these
    settings (and tool_choice unset), queued."""
    return assistant.start(
        engine,
        model,
        item.messages,
        sampling=decoding.sampling(max_tokens),
        tools=item.tools,
        parallel_tool_calls=decoding.parallel_tool_calls,
    )


def answer_all(
    engine: Engine,
    models: Sequence[str],
    groups: dict[str, list[Item]],
    max_tokens: dict[str, int],
    decoding: Decoding,
    asked: dict[str, Sequence[str]] | None = None,
) -> tuple[dict[str, dict[str, list[str]]], Stats]:
    """answers[model][group], each the reply's whole text as generated (content and any
    `<tool_call>` markup, stripped), in item order; and the generation stats. `asked`: the
    groups each model answers (default: every group); a group a model is not asked is not in
    its answers.

    Every request is queued at once, per model in the order of their prompts' text, so that
    prompts that begin alike (one system prompt and tools, turns of one conversation) follow
    each other and find their common blocks in the engine's prefix cache."""
    begin = time.perf_counter()
    jobs = [(group, i, item) for group, items in groups.items() for i, item in enumerate(items)]
    jobs.sort(key=lambda job: prompt_order(job[2]))
    asked = asked or {model: tuple(groups) for model in models}
    started = {
        (model, group, i): start(engine, model, item, max_tokens[group], decoding)
        for model in models
        for group, i, item in jobs
        if group in asked[model]
    }
    stats = Stats()
    answers = {model: {group: [""] * len(groups[group]) for group in groups
                       if group in asked[model]}
               for model in models}  # fmt: skip
    for (model, group, i), generation in started.items():
        reply = generation.reply()
        stats.add(reply)
        answers[model][group][i] = reply.finish.text.strip()
    stats.seconds = time.perf_counter() - begin
    stats.prompt_tokens_reused = engine.decoder.prompt_tokens["reused"]
    log.info("%d answers in %.0f s (%.1f tokens/s; %d of %d prompt tokens from the prefix "
             "cache)", stats.prompts, stats.seconds, stats.tokens_per_s,
             stats.prompt_tokens_reused, stats.prompt_tokens)  # fmt: skip
    return answers, stats


def prompt_order(item: Item) -> str:
    """A sort key that follows the chat template's order: system prompt, tools, the rest."""
    messages = list(item.messages)
    system = messages.pop(0)["content"] if messages and messages[0]["role"] == "system" else ""
    return json.dumps([system, item.tools, messages], sort_keys=True, default=str)
