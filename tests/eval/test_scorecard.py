from twainlora.eval import scorecard


def test_the_adapters_are_compared_with_the_base_model():
    metrics = {
        "base": {"toxicity": {"share_over_threshold": 0.1}, "style": {"n": 4, "adherence": 0.25}},
        "style": {"toxicity": {"share_over_threshold": 0.2}, "style": {"n": 4, "adherence": 0.75}},
    }
    losses = {"train_loss": 1.0, "eval_loss": 1.2, "loss_gap": 0.2, "base_eval_loss": 2.0}
    scorecard.against_base(metrics, {"style": {**losses, "steps": 9}})
    assert metrics["style"]["overfit"] == losses and "overfit" not in metrics["base"]
    assert metrics["style"]["toxicity"]["not_above_base"] is False
    scorecard.add_deltas(metrics)
    assert metrics["style"]["delta_vs_base"] == {
        "toxicity": {"share_over_threshold": 0.1},
        "style": {"adherence": 0.5},
    }


def test_bar_rows_and_csv():
    share = {"rate": 0.5, "ci95": [0.2, 0.8], "n": 8}
    metrics = {
        "base": {"style": {"twain_share": share}},
        "style": {"style": {"twain_share": {**share, "rate": 0.75}}},
    }
    rows = scorecard.bar_rows(metrics, ["base", "style"])
    assert rows == [
        ("style.twain_share base", "base", 0.5),
        ("style.twain_share style", "style", 0.75),
    ]
    text = scorecard.csv_text(["bar", "model", "value"], rows)
    assert text == (
        "bar,model,value\nstyle.twain_share base,base,0.5\nstyle.twain_share style,style,0.75\n"
    )
