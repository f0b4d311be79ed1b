"""Tags for text records: persona, tone, domain, source, device (vocabulary in records.py).

Rules from metadata and lexical cues, plus a small fastText tone classifier (humorous or not)
trained on the corpus's own weak labels: which subreddit or author a text comes from.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from twainlora.data.fasttext_classifier import FastTextClassifier, settings_of
from twainlora.data.filters import load_lexicon

_HYPERBOLE = re.compile(
    r"\b(?:a (?:million|thousand|hundred thousand|billion) (?:times|years|miles|ways|pieces)"
    r"|(?:biggest|greatest|worst|largest|finest)\b[^.]{0,40}"
    r"\b(?:in the world|on earth|ever (?:was|seen|known))"
    r"|never in (?:all )?my (?:life|born days)|since the creation|to the end of time"
    r"|(?:forty|ninety|ten) thousand (?:times|years))\b",
    re.IGNORECASE,
)
_ANALOGY = re.compile(r"\b(?:like a|like an|as if|as though|as \w+ as an? )\b", re.IGNORECASE)
_PUN = re.compile(r"\b(?:pun|puns|play upon words|play on words|double meaning)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TagRules:
    personas: dict[str, str]  # author -> persona; other authors and headlines are neutral
    default_tone: dict[str, str]  # author -> tone when the classifier does not say humorous
    fallback_tone: str
    aphoristic_books: list[int]  # Gutenberg ids that are collections of maxims
    subreddit_tone: dict[str, str]
    weather_min_hits: dict[str, int]  # per source: lexicon hits that make domain=weather
    analogy_min_hits: int
    humorous_threshold: float


@dataclass(frozen=True)
class ToneClassifierParams:
    # Weak labels: "subreddit:X" or "author:Y" keys whose texts count as humorous / serious.
    humorous: list[str]
    serious: list[str]
    epoch: int = 10
    lr: float = 0.5
    word_ngrams: int = 2
    dim: int = 50
    holdout: float = 0.1
    seed: int = 0
    max_per_label: int = 20000


def weak_key(record: dict) -> list[str]:
    meta = record.get("meta", {})
    keys = []
    if "subreddit" in meta:
        keys.append(f"subreddit:{meta['subreddit']}")
    if "author" in meta:
        keys.append(f"author:{meta['author']}")
    return keys


class ToneClassifier:
    def __init__(self, classifier: FastTextClassifier):
        self.classifier = classifier

    @classmethod
    def train(
        cls, records: Sequence[dict], params: ToneClassifierParams
    ) -> tuple[ToneClassifier, dict]:
        """Train on weakly labeled records; return the model and its held-out accuracy."""
        rng = random.Random(params.seed)
        labeled = {"humorous": [], "serious": []}
        for r in records:
            keys = weak_key(r)
            if any(k in params.humorous for k in keys):
                labeled["humorous"].append(r["text"])
            elif any(k in params.serious for k in keys):
                labeled["serious"].append(r["text"])
        train, held = [], []
        for label, texts in labeled.items():
            if not texts:
                raise ValueError(f"no weakly labeled {label} records: check tag.tone_classifier")
            texts = sorted(texts)
            rng.shuffle(texts)
            texts = texts[: params.max_per_label]  # balance the two labels
            n_held = max(1, int(len(texts) * params.holdout))
            held += [(label, t) for t in texts[:n_held]]
            train += [(label, t) for t in texts[n_held:]]
        rng.shuffle(train)
        classifier = FastTextClassifier.train(train, **settings_of(params))
        clf = cls(classifier)
        probs = clf.humorous_prob([t for _, t in held])
        correct = sum(
            (p >= 0.5) == (lab == "humorous") for (lab, _), p in zip(held, probs, strict=True)
        )
        report = {
            "train": len(train),
            "heldout": len(held),
            "heldout_accuracy": round(correct / len(held), 4),
        }
        return clf, report

    def humorous_prob(self, texts: Sequence[str]) -> list[float]:
        return [p.get("humorous", 0.0) for p in self.classifier.probabilities(texts)]


class Tagger:
    def __init__(self, rules: TagRules):
        self.rules = rules
        terms = load_lexicon("weather")
        self.weather = re.compile(
            r"\b(?:" + "|".join(map(re.escape, terms)) + r")s?\b", re.IGNORECASE
        )

    def tags(self, record: dict, humorous_prob: float) -> dict:
        r, meta, text = self.rules, record.get("meta", {}), record["text"]
        source = record["source"]
        author = meta.get("author", "")
        persona = r.personas.get(author, "neutral")
        if "subreddit" in meta:
            tone = r.subreddit_tone.get(meta["subreddit"], r.fallback_tone)
        elif meta.get("gutenberg_id") in r.aphoristic_books:
            tone = "aphoristic"
        elif humorous_prob >= r.humorous_threshold:
            tone = "humorous"
        else:
            tone = r.default_tone.get(author, r.fallback_tone)
        hits = len(self.weather.findall(text))
        domain = "weather" if hits >= r.weather_min_hits.get(source, 1) else "general"
        if source == "reddit":
            device = "headline"
        elif _PUN.search(text):
            device = "pun"
        elif _HYPERBOLE.search(text):
            device = "hyperbole"
        elif len(_ANALOGY.findall(text)) >= r.analogy_min_hits:
            device = "analogy"
        else:
            device = "none"
        return {
            "persona": persona,
            "tone": tone,
            "domain": domain,
            "source": source,
            "device": device,
        }


SPOT_TAGS = ("persona", "tone", "domain", "device")


def spot_label_agreement(rows: Sequence[dict]) -> dict:
    """Per tag: how many rows a human labeled and the share where the tag agrees."""
    out = {}
    for tag in SPOT_TAGS:
        labeled = [row for row in rows if str(row.get(f"human_{tag}", "")).strip()]
        agree = sum(
            str(row[f"human_{tag}"]).strip().lower() == str(row[tag]).lower() for row in labeled
        )
        out[tag] = {
            "labeled": len(labeled),
            "agreement": round(agree / len(labeled), 4) if labeled else None,
        }
    return out


def spot_sample(records: Sequence[dict], n: int, seed: int) -> list[dict]:
    """A seeded random sample of records, in id order."""
    ids = sorted(r["id"] for r in records)
    chosen = set(random.Random(seed).sample(ids, min(n, len(ids))))
    return sorted((r for r in records if r["id"] in chosen), key=lambda r: r["id"])


def tag_all(
    records: Sequence[dict], classifier: ToneClassifier, tagger: Tagger, batch_size: int, name: str
) -> list[dict]:
    """Every record with its tags (the classifier's humorous probability by batches); a
    record whose tags fail the schema is an error naming it and `name`, where it came from."""
    from tqdm import tqdm

    from twainlora.core.records import validation_errors

    tagged = []
    for start in tqdm(range(0, len(records), batch_size), desc="tag", unit="batch"):
        batch = records[start : start + batch_size]
        probs = classifier.humorous_prob([r["text"] for r in batch])
        for record, p in zip(batch, probs, strict=True):
            out = {**record, "tags": tagger.tags(record, p)}
            if errors := validation_errors(out):
                raise ValueError(f"{name}: record {record['id']} fails the schema: {errors}")
            tagged.append(out)
    return tagged


def tag_counts(tagged: Sequence[dict]) -> dict:
    """Records per value of each tag."""
    from collections import Counter

    from twainlora.core.records import TAG_VALUES

    return {
        tag: dict(sorted(Counter(r["tags"][tag] for r in tagged).items())) for tag in TAG_VALUES
    }


def read_spot_labels(path: Path) -> dict[str, dict]:
    """Human labels already in the sheet, by record id (an absent sheet has none)."""
    import pandas as pd

    if not path.exists():
        return {}
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    human = [c for c in sheet.columns if c.startswith("human_")]
    return {row["id"]: {c: row[c] for c in human} for row in sheet.to_dict("records")}


def spot_sheet(tagged: Sequence[dict], n: int, seed: int, previous: dict[str, dict]) -> list[dict]:
    """The spot-label rows: a seeded sample of n records with their tags and empty human_*
    columns, or the labels a human already filled in for that record."""
    rows = []
    for r in spot_sample(tagged, n, seed):
        human = previous.get(r["id"], {})
        rows.append(
            {
                "id": r["id"],
                "source": r["source"],
                "text": r["text"][:600],
                **{t: r["tags"][t] for t in SPOT_TAGS},
                **{f"human_{t}": human.get(f"human_{t}", "") for t in SPOT_TAGS},
            }
        )
    return rows
