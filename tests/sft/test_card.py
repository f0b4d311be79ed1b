"""twainlora.sft.card: the dataset card from the records."""

from collections import Counter

from twainlora.sft import card


def rec(rid, template, synthetic=False, persona="twain", text="Hello there."):
    return {
        "id": rid,
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": text},
        ],
        "tags": {
            "persona": persona,
            "tone": "humorous",
            "domain": "general",
            "source": "synthetic" if synthetic else "gutenberg",
            "template": template,
            "synthetic": synthetic,
        },
    }


def test_table_and_example():
    assert card.table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"function": {"name": "get_weather", "arguments": '{"location": "X"}'}}],
    }
    shown = card.render_example({"messages": [call, {"role": "tool", "content": "x" * 10}]}, 4)
    assert shown == '> **assistant** → `get_weather({"location": "X"})`\n>\n> **tool**: xxxx…'


def test_histogram_csv_counts_every_bin_of_every_split():
    lengths = {"train": [1, 70, 70], "eval": [130]}
    bins = card.length_bins(lengths, 64)
    assert bins == [0, 64, 128, 192]
    rows = card.histogram_csv(lengths, bins, 64).splitlines()
    assert rows[0] == "split,tokens,examples" and len(rows) == 1 + 2 * len(bins)
    assert "train,64,2" in rows and "eval,128,1" in rows


def test_card_and_metrics_are_deterministic():
    sft = [rec(f"h{i}", "humor") for i in range(5)] + [rec("s0", "humor", synthetic=True)]
    splits = {"train": sft[:4], "eval": sft[4:]}
    lengths = {"train": [3, 4, 5, 6], "eval": [7, 8]}
    rejects = card.count_rejects({"clean": [{"reason": "short"}, {"reason": "short"}]})
    assert rejects == Counter({("clean", "short"): 2})
    text = card.render_card(sft, splits, lengths, rejects, "figures/x.png", 2, 50, seed=0)
    assert text == card.render_card(sft, splits, lengths, rejects, "figures/x.png", 2, 50, seed=0)
    assert "**6 examples** (5 human-derived, 1 synthetic: 16.7% synthetic" in text
    assert "| clean | short | 2 |" in text and "![token lengths](figures/x.png)" in text
    assert text.count("> **assistant**") == 2  # examples_per_template
    metrics = card.card_metrics(sft, lengths, rejects)
    assert metrics == {
        "examples": 6,
        "synthetic_share": 0.1667,
        "templates": {"humor": 6},
        "tokens_median": 5,
        "tokens_max": 8,
        "rejects_total": 2,
    }
