"""The episode cases, their templates and shares, and the plan that hits the shares exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass

from twainlora.core.seeded import allot

CASES = (
    "success",
    "relative_date",
    "absent_date",
    "missing_location",
    "api_error",
    "unknown_location",
    "irrelevant",
    "follow_up",
    "session",
)
# A session's requests: the first may lack the place or the date (a question back); a later
# one could take them from the turns before it, so later ones are complete or unrelated.
SESSION_FIRST = tuple(c for c in CASES if c not in ("follow_up", "session"))
SESSION_LATER = ("success", "relative_date", "api_error", "unknown_location", "irrelevant")
TEMPLATE_OF_CASE = {
    "success": "tool_success",
    "follow_up": "tool_success",
    "relative_date": "tool_missing_date",
    "absent_date": "tool_missing_date",
    "missing_location": "tool_missing_location",
    "api_error": "tool_api_error",
    "unknown_location": "tool_api_error",
    "irrelevant": "tool_irrelevant",
    "session": "tool_session",
}


@dataclass(frozen=True)
class EpisodeParams:
    n_episodes: int
    seed: int
    case_shares: dict[str, float]
    persona_shares: dict[str, float]
    plain_system_share: float  # system prompts without control tokens, as users write them
    max_session_requests: int = 4  # a session asks 2 to this many things

    def __post_init__(self):
        unknown = set(self.case_shares) - set(CASES)
        if unknown:
            raise ValueError(f"unknown cases {sorted(unknown)}; cases: {CASES}")
        if abs(sum(self.case_shares.values()) - 1.0) > 1e-6:
            raise ValueError("case_shares must sum to 1")
        if abs(sum(self.persona_shares.values()) - 1.0) > 1e-6:
            raise ValueError("persona_shares must sum to 1")
        if not 0.0 <= self.plain_system_share <= 1.0:
            raise ValueError("plain_system_share must be in [0, 1]")
        if self.max_session_requests < 2:
            raise ValueError("max_session_requests must be at least 2")


def case_plan(params: EpisodeParams) -> list[str]:
    """Exactly round(share * n) episodes per case (remainder to the largest), shuffled."""
    counts = allot(params.n_episodes, params.case_shares)
    plan = [c for c in sorted(counts) for _ in range(counts[c])]
    random.Random(params.seed).shuffle(plan)
    return plan
