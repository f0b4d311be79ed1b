"""The prompts every model answers: the held-out style prompts and tool-use decisions of the
heldout stage (twainlora/eval/heldout.py; no prompt of them is in, or near, any train split)
and the ten fixed examples, each the same for every model and every run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from twainlora.eval import review

GROUPS = ("style", "tool", "examples")


@dataclass(frozen=True)
class Item:
    """One prompt every model answers, with what its reply is scored against."""

    id: str
    kind: str  # a heldout.STYLE_KINDS or heldout.TOOL_KINDS kind, or "example"
    messages: tuple[dict, ...]
    tools: tuple[dict, ...] = ()
    persona: str = ""  # style: the voice asked for
    framing: str = ""  # style: control_tokens, plain_system or in_request
    novel: bool = False  # tool: another tool's schema, system prompt and phrasing
    expect: dict | None = None  # tool: what a good reply does (twainlora/eval/decisions.py)

    def decision(self) -> dict:
        """The tool item as twainlora.eval.decisions scores it."""
        return {
            "kind": self.kind,
            "messages": self.messages,
            "tools": self.tools,
            "novel": self.novel,
            "expect": self.expect,
        }


def first_per_kind(rows: Iterable[dict], per_kind: int | None) -> list[dict]:
    """The first `per_kind` rows of each kind, in file order (None: all of them)."""
    taken: dict[str, int] = defaultdict(int)
    out = []
    for row in rows:
        if per_kind is None or taken[row["kind"]] < per_kind:
            taken[row["kind"]] += 1
            out.append(row)
    return out


def prompt_sets(
    heldout_style: Iterable[dict], heldout_tool: Iterable[dict], per_kind: int | None
) -> dict[str, list[Item]]:
    """Per group (GROUPS), the items: up to `per_kind` held-out style prompts and tool items
    of each kind (None: all), and the ten examples."""
    style = [
        Item(r["id"], r["kind"], tuple(r["messages"]), persona=r["persona"], framing=r["framing"])
        for r in first_per_kind(heldout_style, per_kind)
    ]
    tool = [
        Item(r["id"], r["kind"], tuple(r["messages"]), tuple(r["tools"]), novel=r["novel"],
             expect=r["expect"])
        for r in first_per_kind(heldout_tool, per_kind)
    ]  # fmt: skip
    examples = [
        Item(f"example:{k}", "example", messages, tools)
        for k, (_, messages, tools) in enumerate(review.EXAMPLES)
    ]
    return {"style": style, "tool": tool, "examples": examples}
