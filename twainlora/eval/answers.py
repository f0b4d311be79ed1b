"""The models' answers, generated on the server's path (twainlora.serve.assistant): the same
engine, chat template, tool-call grammar and reply parsing as `twainlora serve`, so evaluated
behaviour is served behaviour. Evaluate asks as a client with the server's defaults would
(tool_choice unset, i.e. "auto"), but greedily, so that reruns give the same answers.

The engine generates one request at a time; evaluate asks sequentially.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from twainlora.eval.prompts import Item
from twainlora.serve import assistant
from twainlora.serve.engine import Engine, Sampling

log = logging.getLogger("twainlora.eval.answers")


@dataclass(frozen=True)
class Decoding:
    """The request settings every answer is generated with, besides max_tokens."""

    parallel_tool_calls: bool  # the server's default: serve.parallel_tool_calls
    temperature: float = 0.0  # greedy
    top_p: float = 1.0

    def sampling(self, max_tokens: int) -> Sampling:
        return Sampling(max_tokens, self.temperature, self.top_p, seed=None)

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
    seconds: float = 0.0
    finish_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "generated_tokens": self.new_tokens,
            "finish_reasons": dict(sorted(self.finish_reasons.items())),
            "tokens_per_s": round(self.tokens_per_s, 1),
        }

    def add(self, reply: assistant.Reply, seconds: float) -> None:
        self.prompts += 1
        self.prompt_tokens += reply.finish.prompt_tokens
        self.new_tokens += reply.finish.completion_tokens
        self.seconds += seconds
        reason = reply.finish_reason
        self.finish_reasons[reason] = self.finish_reasons.get(reason, 0) + 1


def load_engine(
    base: Path, adapters: dict[str, Path], dtype: str, threads: int, context_length: int
) -> Engine:
    """The server's engine over the base model and `adapters`. Call before torch is imported:
    with two busy-waiting OpenMP threads and a neighbour job on the same two cores,
    generation ran 8x slower (1 token/s) than with passive waiting."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return Engine.load(base, adapters, dtype, threads, context_length)


def answer(
    engine: Engine, model: str, item: Item, max_tokens: int, decoding: Decoding
) -> assistant.Reply:
    """The reply `twainlora serve` gives to the item's messages and tools with these settings
    (and tool_choice unset)."""
    return assistant.reply(
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
) -> tuple[dict[str, dict[str, list[str]]], Stats]:
    """answers[model][group], each the reply's whole text as generated (content and any
    `<tool_call>` markup, stripped), in item order; and the generation stats."""
    stats = Stats()
    answers: dict[str, dict[str, list[str]]] = {}
    for model in models:
        answers[model] = {}
        for group, items in groups.items():
            texts = []
            for item in items:
                start = time.perf_counter()
                reply = answer(engine, model, item, max_tokens[group], decoding)
                stats.add(reply, time.perf_counter() - start)
                texts.append(reply.finish.text.strip())
            answers[model][group] = texts
        log.info("%s: generated (%.1f tokens/s so far)", model, stats.tokens_per_s)
    return answers, stats
