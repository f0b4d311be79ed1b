from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval import review
from twainlora.eval.prompts import GROUPS, prompt_sets


def test_prompt_sets_take_the_first_held_out_items_of_each_kind_and_the_examples():
    style = [
        {
            "id": f"heldout:style:{kind}:{i:04d}",
            "kind": kind,
            "persona": "twain" if kind == "twain" else "franklin",
            "framing": "plain_system",
            "messages": [{"role": "user", "content": f"Say something {i}."}],
        }
        for kind in ("twain", "franklin")
        for i in range(3)
    ]
    expect = {"call": False, "function": "get_weather", "location_key": "location",
              "date_key": "date"}  # fmt: skip
    tool = [
        {
            "id": "heldout:tool:unrelated:0000",
            "kind": "unrelated",
            "novel": True,
            "persona": "twain",
            "tools": [GET_WEATHER_TOOL],
            "messages": [{"role": "user", "content": "Who wrote Tom Sawyer?"}],
            "expect": expect,
        }
    ]
    groups = prompt_sets(style, tool, 2)
    assert tuple(groups) == GROUPS
    assert [i.id for i in groups["style"]] == [
        "heldout:style:twain:0000",
        "heldout:style:twain:0001",
        "heldout:style:franklin:0000",
        "heldout:style:franklin:0001",
    ]
    assert groups["style"][0].persona == "twain" and groups["style"][0].framing == "plain_system"
    assert len(prompt_sets(style, tool, None)["style"]) == 6
    (item,) = groups["tool"]
    assert (item.kind, item.tools, item.novel) == ("unrelated", (GET_WEATHER_TOOL,), True)
    assert item.decision()["expect"] == expect
    assert len(groups["examples"]) == len(review.EXAMPLES)
