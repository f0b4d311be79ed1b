from twainlora.data.dedupe import MinHashParams
from twainlora.sft.episodes import ToolOffer
from twainlora.sft.splitting import (
    SplitParams,
    assign,
    groups,
    mix_style_into_tool,
    passage_of,
    remove_leaks,
    split_files,
    split_metrics,
    stratum,
    with_tools,
)


def rec(rid, template="humor", persona="neutral", provenance=(), text=None, case=None):
    tags = {"template": template, "persona": persona}
    if case:
        tags["case"] = case
    return {
        "id": rid,
        "tags": tags,
        "provenance": list(provenance),
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": text or f"unique answer number {rid} " * 3},
        ],
    }


def test_passage_of():
    assert passage_of("gutenberg:76:s0003c002") == "gutenberg:76:s0003"
    assert passage_of("reddit:x:000001") == "reddit:x:000001"


def test_groups_join_chunks_of_a_passage_and_shared_provenance():
    records = [
        rec("a", provenance=["gutenberg:76:s0003c000"]),
        rec("b", provenance=["gutenberg:76:s0003c001"]),
        rec("c", provenance=["reddit:x:1"]),
        rec("d", template="tool_irrelevant", provenance=["reddit:x:1"]),
        rec("e", provenance=["gutenberg:76:s0004c000"]),
    ]
    g = groups(records)
    assert g[0] == g[1] and g[2] == g[3] and len({g[0], g[2], g[4]}) == 3


def test_each_stratum_gets_its_share_and_groups_stay_whole():
    records = [rec(f"h{i}") for i in range(100)] + [
        rec(f"s{i}", "style_imitation", "twain", [f"gutenberg:1:s{i // 2:04d}c000"])
        for i in range(40)
    ]
    records += [rec(f"t{i}", "tool_success", case="api_error") for i in range(10)]
    flags = assign(records, 0.1, seed=0)
    assert sum(flags[:100]) == 10 and sum(flags[140:]) == 1
    assert 3 <= sum(flags[100:140]) <= 5
    for i in range(100, 140, 2):
        assert flags[i] == flags[i + 1]  # two chunks of one passage
    assert flags == assign(records, 0.1, seed=0) and flags != assign(records, 0.1, seed=1)
    assert stratum(records[-1]) == "api_error/neutral"


def test_near_duplicates_across_the_split_move_to_train():
    same = "Sure. Which city should I check for the weather forecast today please?"
    records = [rec("a", text=same), rec("b", text=same + "!"), rec("c")]
    flags, moved = remove_leaks(records, [True, False, True], MinHashParams())
    assert flags == [False, False, True] and moved == 1


def test_with_tools_offers_tools_without_a_call():
    import random

    from twainlora.core.sft import record_errors

    record = {
        "id": "instruct:humor:reddit:x:000001",
        "provenance": ["reddit:x:000001"],
        "tags": {
            "persona": "neutral",
            "tone": "satirical",
            "domain": "general",
            "source": "reddit",
            "template": "humor",
            "synthetic": False,
        },
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "A joke?"},
            {"role": "assistant", "content": "Area Man Wins"},
        ],
    }
    offer = ToolOffer(seed_schema_share=0.5, distractor_share=0.3)
    out = with_tools(record, random.Random(0), offer, max_distractors=1)
    assert out["id"].endswith("+tools") and out["tags"]["template"] == "tool_irrelevant"
    assert out["messages"] == record["messages"] and out["tools"]
    assert record_errors(out) == [] and "tools" not in record


def test_style_mix_goes_into_the_tool_files_part_with_tools():
    records = [rec(f"s{i:02d}") for i in range(40)] + [
        rec(f"t{i:02d}", template="tool_success", case="success") for i in range(20)
    ]
    is_eval = [i % 10 == 0 for i in range(len(records))]
    files = split_files(records, is_eval)
    assert [len(files[n]) for n in ("train_style", "eval_style", "train_tool", "eval_tool")] == [
        36,
        4,
        18,
        2,
    ]
    params = SplitParams(
        holdout=0.1,
        seed=0,
        tool_style_mix=0.5,
        mix_with_tools=0.5,
        eval_irrelevant_from_style=3,
        max_offered_distractors=1,
    )
    n_mix, n_eval = mix_style_into_tool(files, params, ToolOffer(0.5, 0.3))
    assert (n_mix, n_eval) == (9, 3)
    assert len(files["train_tool"]) == 18 + 9 and len(files["eval_tool"]) == 2 + 3
    with_tools_ids = [r["id"] for r in files["eval_tool"] if r["id"].endswith("+tools")]
    assert len(with_tools_ids) == 3
    assert [r["id"] for r in files["train_tool"]] == sorted(r["id"] for r in files["train_tool"])
    metrics = split_metrics(files)
    assert metrics["eval_tool"]["by_category"]["irrelevant_style"] == 3
