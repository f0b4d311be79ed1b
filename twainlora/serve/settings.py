"""params.yaml `serve`: what `twainlora serve` runs and the defaults a request leaves unset.
The evaluate stage reads its engine and parallel_tool_calls too, to answer as the server does."""

from __future__ import annotations

from dataclasses import dataclass

from twainlora.serve.engine import EngineConfig


@dataclass(frozen=True)
class ServeParams:
    host: str
    port: int
    base: str  # the base_model stage's folder
    adapters: str  # every PEFT folder in it is served under its folder name
    engine: EngineConfig
    max_tokens: int  # a request's reply budget when it sets none
    temperature: float  # when a request sets none; 0 is greedy
    top_p: float
    # When a request sets none (OpenAI's default is 0): greedy and low-temperature replies of
    # a 135M model fall into loops. Applied to replies without tools (engine.penalize).
    frequency_penalty: float
    presence_penalty: float
    no_repeat_ngram_size: int  # 0: off
    parallel_tool_calls: bool  # when a request does not say
    max_body_bytes: int
    graceful_shutdown_s: int

    def __post_init__(self):
        if not 0 < self.port < 65536:
            raise ValueError("port must be 1-65535")
        if min(self.max_tokens, self.max_body_bytes) < 1:
            raise ValueError("max_tokens and max_body_bytes must be >= 1")
        if not 0 <= self.temperature <= 2 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be in [0, 2] and top_p in (0, 1]")
        if not (-2 <= self.frequency_penalty <= 2 and -2 <= self.presence_penalty <= 2):
            raise ValueError("frequency_penalty and presence_penalty must be in [-2, 2]")
        if self.no_repeat_ngram_size < 0:
            raise ValueError("no_repeat_ngram_size must be >= 0 (0: off)")
