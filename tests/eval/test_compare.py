from twainlora.eval import compare as ev


def test_delta_skips_counts_and_flags():
    model = {
        "style": {"n": 5, "twain_share": 0.5},
        "toxicity": {"not_above_base": True, "mean_prob": 0.1},
    }
    base = {"style": {"n": 5, "twain_share": 0.2}, "toxicity": {"mean_prob": 0.15}}
    assert ev.delta(model, base) == {
        "style": {"twain_share": 0.3},
        "toxicity": {"mean_prob": -0.05},
    }
