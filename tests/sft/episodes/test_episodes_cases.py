"""twainlora.sft.episodes.cases: the plan and its params."""

from collections import Counter

import pytest

from twainlora.core.params import from_dict
from twainlora.sft.episodes import EpisodeParams, case_plan

from conftest import shipped_params


def params(**overrides):
    base = {**shipped_params()["tool_episodes"]["episodes"], **overrides}
    return from_dict(EpisodeParams, base, "episodes")


def test_case_plan_hits_the_shares_exactly():
    p = params(n_episodes=1000)
    plan = case_plan(p)
    assert len(plan) == 1000
    assert {c: n / 1000 for c, n in Counter(plan).items()} == pytest.approx(dict(p.case_shares))
    assert plan == case_plan(p)


def test_params_reject_unknown_cases_and_bad_shares():
    with pytest.raises(Exception, match="unknown cases"):
        params(case_shares={"success": 0.5, "weird": 0.5})
    with pytest.raises(Exception, match="must sum to 1"):
        params(case_shares={"success": 0.5})
