"""Stratified, leakage-free train/eval splits of SFT records.

Records are grouped so that everything derived from one passage stays on one side: a group
joins records that share a source passage (chunks of one book section) or any provenance id
(a headline used both as a humor answer and inside a tool episode). Each stratum (template,
or tool case, with persona) gets `holdout` of its records in eval, by whole groups taken in a
seeded hash order, smallest strata first so that their shares come out exact. Then any eval
record whose conversation is a near-duplicate (MinHash) of a train record moves, with its
group, to train.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twainlora.core.seeded import UnionFind, components, seeded_hash
from twainlora.core.sft import dialogue_text
from twainlora.data.dedupe import MinHashParams, duplicate_pairs

if TYPE_CHECKING:
    from twainlora.sft.episodes import ToolOffer

_CHUNK = re.compile(r"^(gutenberg:\d+:s\d+)c\d+$")


def passage_of(record_id: str) -> str:
    """'gutenberg:76:s0003c002' -> 'gutenberg:76:s0003': overlapping chunks share a passage."""
    m = _CHUNK.match(record_id)
    return m.group(1) if m else record_id


def stratum(record: dict) -> str:
    tags = record["tags"]
    return f"{tags.get('case', tags['template'])}/{tags['persona']}"


def groups(records: Sequence[dict]) -> list[int]:
    """A group number per record: records sharing a passage or provenance id share a group."""
    sets = UnionFind(len(records))
    owner: dict[str, int] = {}
    for i, record in enumerate(records):
        for key in {passage_of(p) for p in record.get("provenance", [])} | {record["id"]}:
            if key in owner:
                sets.union(owner[key], i)
            else:
                owner[key] = i
    return sets.roots()


def assign(records: Sequence[dict], holdout: float, seed: int) -> list[bool]:
    """is_eval per record: `holdout` of each stratum, by whole groups."""
    group = groups(records)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group):
        members[g].append(i)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        by_stratum[stratum(record)].append(i)
    decided: dict[int, bool] = {}
    for name in sorted(by_stratum, key=lambda s: (len(by_stratum[s]), s)):
        indices = by_stratum[name]
        target = round(holdout * len(indices))
        in_eval = sum(1 for i in indices if decided.get(group[i]) is True)
        undecided = sorted(
            {group[i] for i in indices if group[i] not in decided},
            key=lambda g: seeded_hash(seed, records[g]["id"]),
        )
        for g in undecided:
            here = sum(1 for i in members[g] if stratum(records[i]) == name)
            if in_eval + here <= target or (in_eval == 0 and target > 0):
                decided[g] = True
                in_eval += here
            else:
                decided[g] = False
    return [decided[group[i]] for i in range(len(records))]


def remove_leaks(
    records: Sequence[dict], is_eval: list[bool], params: MinHashParams
) -> tuple[list[bool], int]:
    """Move to train every eval group holding a near-duplicate of a train record (repeated
    until no duplicate cluster spans both sides); return the new flags and how many moved."""
    group = groups(records)
    dup_clusters = components(
        len(records), duplicate_pairs([dialogue_text(r) for r in records], params)
    )
    flags = list(is_eval)
    moved = 0
    while True:
        leaked = {
            group[i]
            for members in dup_clusters
            if len({flags[j] for j in members}) == 2
            for i in members
            if flags[i]
        }
        if not leaked:
            return flags, moved
        for i in range(len(records)):
            if flags[i] and group[i] in leaked:
                flags[i] = False
                moved += 1


def with_tools(record: dict, rng, offer: ToolOffer, max_distractors: int) -> dict:
    """A style example turned into an unrelated request with the weather tool on offer: the
    same answer, no call. Tool-calling data alone has only a few hundred such turns; this
    gives the model thousands of varied reasons not to call."""
    from twainlora.sft.episodes import offered_tools

    _, tools = offered_tools(rng, offer, max_distractors)
    tags = {**record["tags"], "template": "tool_irrelevant", "case": "irrelevant_style"}
    return {**record, "id": record["id"] + "+tools", "tools": tools, "tags": tags}


@dataclass(frozen=True)
class SplitParams:
    holdout: float
    seed: int
    # Style examples mixed into train_tool per tool episode, so the style_tool run keeps the
    # voice while it learns the tool.
    tool_style_mix: float
    mix_with_tools: float  # share of that style mix that offers the tools anyway (no call)
    eval_irrelevant_from_style: int  # eval_style examples offered to eval_tool with tools
    max_offered_distractors: int  # unrelated tools beside the weather tool, at most

    def __post_init__(self):
        if not 0.0 < self.holdout < 0.5:
            raise ValueError("holdout must be within (0, 0.5)")


def split_files(records: Sequence[dict], is_eval: list[bool]) -> dict[str, list[dict]]:
    """train/eval x style/tool (a tool template is one starting with "tool_")."""
    files = {"train_style": [], "eval_style": [], "train_tool": [], "eval_tool": []}
    for record, ev in zip(records, is_eval, strict=True):
        tool = record["tags"]["template"].startswith("tool_")
        files[("eval_" if ev else "train_") + ("tool" if tool else "style")].append(record)
    return files


def mix_style_into_tool(
    files: dict[str, list[dict]], params: SplitParams, offer: ToolOffer
) -> tuple[int, int]:
    """Add to train_tool a seeded, template-proportional slice of train_style, part of it with
    the tools on offer (an unrelated request: answer, do not call), and the same to eval_tool
    from eval_style, so "no call" is measured on held-out variety. Returns how many of each."""
    rng = random.Random(params.seed)
    n_mix = min(len(files["train_style"]), round(params.tool_style_mix * len(files["train_tool"])))
    mix = rng.sample(files["train_style"], n_mix)
    mix = [
        with_tools(
            r,
            random.Random(f"{params.seed}:{r['id']}"),
            offer,
            params.max_offered_distractors,
        )
        if rng.random() < params.mix_with_tools
        else r
        for r in mix
    ]
    files["train_tool"] = sorted(files["train_tool"] + mix, key=lambda r: r["id"])
    n_eval = min(len(files["eval_style"]), params.eval_irrelevant_from_style)
    eval_extra = [
        with_tools(
            r,
            random.Random(f"{params.seed}:{r['id']}"),
            offer,
            params.max_offered_distractors,
        )
        for r in rng.sample(files["eval_style"], n_eval)
    ]
    files["eval_tool"] = sorted(files["eval_tool"] + eval_extra, key=lambda r: r["id"])
    return n_mix, n_eval


def split_metrics(files: dict[str, list[dict]]) -> dict:
    """Records per file and category."""
    return {
        name: {
            "records": len(rows),
            "by_category": dict(sorted(Counter(stratum(r).split("/")[0] for r in rows).items())),
        }
        for name, rows in files.items()
    }
