from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval import review
from twainlora.eval.prompts import GROUPS, prompt_sets


def test_prompt_sets_hold_style_prompts_tool_points_and_the_examples():
    style = [
        {
            "id": f"s{i}",
            "tags": {"template": "style_imitation", "persona": "twain"},
            "messages": [
                {"role": "user", "content": "Say something."},
                {"role": "assistant", "content": "Well."},
            ],
        }
        for i in range(3)
    ]
    tool = [
        {
            "id": "t0",
            "tags": {"case": "irrelevant"},
            "tools": [GET_WEATHER_TOOL],
            "messages": [
                {"role": "user", "content": "Who wrote Tom Sawyer?"},
                {"role": "assistant", "content": "I did."},
            ],
        }
    ]
    groups = prompt_sets(style, tool, 2, {"irrelevant": None}, 600, seed=0)
    assert tuple(groups) == GROUPS
    assert len(groups["style"]) == 2 and groups["style"][0].persona == "twain"
    assert groups["style"][0].messages == ({"role": "user", "content": "Say something."},)
    (point,) = groups["tool"]
    assert (point.id, point.kind, point.tools) == ("t0#1", "irrelevant", (GET_WEATHER_TOOL,))
    assert point.point.kind == "irrelevant"
    assert len(groups["examples"]) == len(review.EXAMPLES)
