"""The dataset card: what the SFT data is, in counts, lengths, shares, rejects and examples.

    python stages/report.py

Reads the SFT files and the splits, and every stage's rejects; twainlora/sft/card.py renders
the card. Writes:
  reports/dataset.md                   the card (git-tracked, so a diff shows what changed)
  reports/figures/token_lengths.png    token-length histograms per split (matplotlib)
  plots/token_lengths.csv              the same histograms for `dvc plots show`
  metrics/report.json                  headline numbers (examples, synthetic share, tokens)
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.jsonl import atomic_open, read_jsonl, write_json
from twainlora.core.params import load_params
from twainlora.sft import card

log = logging.getLogger("report")

SFT = [
    Path("data/sft/instruct.jsonl"),
    Path("data/sft/synth.jsonl"),
    Path("data/sft/tool_episodes.jsonl"),
]
SPLITS = {
    "train_style": Path("data/splits/train_style.jsonl"),
    "eval_style": Path("data/splits/eval_style.jsonl"),
    "train_tool": Path("data/splits/train_tool.jsonl"),
    "eval_tool": Path("data/splits/eval_tool.jsonl"),
}
REJECTS = [
    Path("data/rejects/ingest_gutenberg.jsonl"),
    Path("data/rejects/ingest_reddit.jsonl"),
    Path("data/rejects/clean.jsonl"),
    Path("data/rejects/dedupe.jsonl"),
    Path("data/rejects/tool_episodes.jsonl"),
    Path("data/rejects/instruct.jsonl"),
    Path("data/rejects/synth.jsonl"),
]
CARD = Path("reports/dataset.md")
FIGURE = Path("reports/figures/token_lengths.png")
PLOT = Path("plots/token_lengths.csv")
METRICS = Path("metrics/report.json")


@dataclass(frozen=True)
class Params:
    tokenizer: str
    examples_per_template: int
    example_chars: int
    bin_width: int
    seed: int


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("report", Params)
    from twainlora.core.sft import dialogue_text
    from twainlora.core.tokens import TokenCounter

    sft = [r for path in SFT for r in read_jsonl(path)]
    splits = {name: list(read_jsonl(path)) for name, path in SPLITS.items()}
    counter = TokenCounter(params.tokenizer)
    lengths = {
        name: counter.count([dialogue_text(r) for r in rows]) for name, rows in splits.items()
    }
    rejects = card.count_rejects({path.stem: read_jsonl(path) for path in REJECTS})

    bins = card.length_bins(lengths, params.bin_width)
    with atomic_open(PLOT) as f:
        f.write(card.histogram_csv(lengths, bins, params.bin_width))
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(FIGURE, "wb") as f:
        f.write(card.histogram_png(lengths, bins))
    text = card.render_card(
        sft,
        splits,
        lengths,
        rejects,
        FIGURE.relative_to(CARD.parent).as_posix(),
        params.examples_per_template,
        params.example_chars,
        params.seed,
    )
    with atomic_open(CARD) as f:
        f.write(text)
    write_json(METRICS, card.card_metrics(sft, lengths, rejects))
    log.info("wrote %s (%d examples)", CARD, len(sft))
    return 0


if __name__ == "__main__":
    sys.exit(main())
