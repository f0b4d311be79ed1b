"""One config for every OpenAI-compatible chat endpoint the pipeline talks to: the generator
behind synth and instruct, and the evaluate stage's judge."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

# Each role reads its own variables, so pointing synth at a generator does not make that model
# the judge.
ENV_PREFIXES = {"generator": "TWAINLORA_GENERATOR", "judge": "TWAINLORA_JUDGE"}


@dataclass(frozen=True)
class EndpointConfig:
    base_url: str = ""  # e.g. http://127.0.0.1:8080/v1 ; <PREFIX>_BASE_URL overrides
    model: str = ""  # <PREFIX>_MODEL overrides
    api_key_env: str = "OPENAI_API_KEY"  # the key itself never goes in params
    timeout_s: float = 30.0
    temperature: float = 0.7
    max_tokens: int = 200

    def resolved(self, role: str = "generator") -> EndpointConfig:
        """This config with the role's environment overrides applied."""
        prefix = ENV_PREFIXES[role]
        return replace(
            self,
            base_url=os.environ.get(f"{prefix}_BASE_URL", self.base_url),
            model=os.environ.get(f"{prefix}_MODEL", self.model),
        )

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)
