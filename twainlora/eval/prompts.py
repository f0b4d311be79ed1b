"""The prompts every model answers: held-out style requests, tool-use turns cut from eval_tool
conversations and the fixed examples, each the same for every model and every run."""

from __future__ import annotations

from dataclasses import dataclass

from twainlora.eval import review
from twainlora.eval.style import style_prompts
from twainlora.eval.tools import ToolPoint, sample_points, tool_points

GROUPS = ("style", "tool", "examples")


@dataclass(frozen=True)
class Item:
    """One prompt every model answers; `persona` is what a style prompt asks for."""

    id: str
    kind: str
    record_id: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...] = ()
    persona: str = ""
    point: ToolPoint | None = None


def prompt_sets(
    eval_style: list[dict],
    eval_tool: list[dict],
    style_count: int | None,
    point_counts: dict[str, int | None],
    max_prompt_chars: int,
    seed: int,
) -> dict[str, list[Item]]:
    """Per group (GROUPS), the items: `style_count` style prompts (None: all), up to
    point_counts[kind] tool points per kind, the ten examples."""
    style = [
        Item(r["id"], "style", r["id"], tuple(r["messages"][:-1]), persona=r["tags"]["persona"])
        for r in style_prompts(eval_style, style_count, seed, max_prompt_chars)
    ]
    points = sample_points([p for r in eval_tool for p in tool_points(r)], point_counts, seed)
    tool = [Item(p.id, p.kind, p.record_id, p.messages, p.tools, point=p) for p in points]
    examples = [
        Item(f"example:{k}", "example", f"example:{k}", messages, tools)
        for k, (_, messages, tools) in enumerate(review.EXAMPLES)
    ]
    return {"style": style, "tool": tool, "examples": examples}
