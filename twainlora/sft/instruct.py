"""Instruction pairs from tagged text records: the four recurring templates.

- style_imitation: the user gives a plain modern paraphrase (or short summary) of a passage
  and asks for it in the author's voice; the assistant answers with the original passage.
- humor: the user asks for a short joke or headline, about a topic or not; the assistant
  answers with a real satire headline (or, for r/nottheonion, a real absurd one).
- aphorism: the user gives a passage and asks for a dry one-liner; the assistant answers
  with a real maxim (Pudd'nhead Wilson's Calendar, Poor Richard).
- safety: the user asks for a hurtful joke; the assistant declines in voice and offers a
  harmless one instead.

Every choice is drawn from a generator seeded by the stage seed and the source record's id,
so a pair does not change when other records come or go.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from twainlora.core.seeded import seeded_order
from twainlora.domain import personas
from twainlora.sft.plainify import plainify, plainness_report

_STOPWORDS = frozenset(
    "about after again against because before being below between could does doing during every "
    "first from have having here into just more most other over same should some such than that "
    "their them then there these they this those through under until very what when where which "
    "while whom with would your says said will after report study area".split()
)


@dataclass(frozen=True)
class InstructParams:
    seed: int
    # Caps per template; what the corpus yields below a cap is what ships (see metrics).
    targets: dict[str, int]
    style_persona_shares: dict[str, float]  # twain vs franklin among style pairs
    humor_subreddit_shares: dict[str, float]  # TheOnion vs nottheonion among humor pairs
    safety_persona_shares: dict[str, float]
    sketch_share: float  # style pairs whose user side is a sketch even where a paraphrase would do
    # "plainify" (offline) or "endpoint": paraphrases from the synth stage's generator config.
    neutral_side: str
    max_paraphrase_jaccard: float  # an endpoint paraphrase closer than this is not used
    min_changed_share: float  # a paraphrase must change at least this share of the words
    sketch_terms: int
    sketch_opening_words: int
    aphorism_context_words: int
    phrasings: dict[str, list[str]]
    unsafe_groups: list[str]


def rng_for(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:{key}")


def sft_record(
    rid: str,
    template: str,
    system: str,
    user: str,
    assistant: str,
    tags: dict,
    provenance: list[str],
) -> dict:
    return {
        "id": rid,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ],
        "tags": {
            "persona": tags["persona"],
            "tone": tags["tone"],
            "domain": tags["domain"],
            "source": tags["source"],
            "template": template,
            "synthetic": False,
        },
        "provenance": provenance,
    }


def sketch_terms(texts: list[str], k: int) -> list[list[str]]:
    """The k most distinctive words of each text (TF-IDF over the given texts), in order of
    weight, ties alphabetical: the notes a "sketch" prompt gives instead of the passage."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    small = len(texts) < 20  # document-frequency cuts only make sense over a real corpus
    vectorizer = TfidfVectorizer(
        stop_words="english",
        max_df=1.0 if small else 0.3,
        min_df=1 if small else 2,
        sublinear_tf=True,
        token_pattern=r"(?u)\b[A-Za-z][A-Za-z']{2,}\b",
    )
    matrix = vectorizer.fit_transform(texts).tocsr()
    vocab = vectorizer.get_feature_names_out()
    out = []
    for i in range(matrix.shape[0]):
        row = matrix.getrow(i)
        ranked = sorted(zip(row.data, row.indices, strict=True), key=lambda x: (-x[0], vocab[x[1]]))
        out.append([str(vocab[j]) for _, j in ranked[:k]])
    return out


PARAPHRASE_PROMPT = (
    "Paraphrase the passage below in plain, modern, neutral English. Keep every event and "
    "fact, drop the author's voice, dialect, jokes and turns of phrase. Answer with the "
    "paraphrase only.\n\n{passage}"
)


def style_pair(
    record: dict, params: InstructParams, terms: list[str], paraphraser=None
) -> tuple[dict | None, str]:
    """(pair, "") or (None, reason) for a Twain or Franklin passage.

    The user side is a plain paraphrase: from `paraphraser` (a generator, twainlora.sft.generators)
    when one is configured, else from the offline plainifier where it changes enough of the
    passage (dialect, archaic spelling: at least min_changed_share of its words). Otherwise,
    and for sketch_share of the pairs, it is a sketch: the passage's most distinctive words
    and its opening sentence made plain. Never the passage itself.
    """
    from twainlora.sft.generators import GenerationError, Task

    rng = rng_for(params.seed, "style:" + record["id"])
    persona = record["tags"]["persona"]
    author = rng.choice(personas.AUTHOR_NAMES[persona])
    user = None
    if paraphraser is not None:
        try:
            plain = paraphraser.generate(
                Task("paraphrase", record["id"], PARAPHRASE_PROMPT.format(passage=record["text"]))
            )
        except GenerationError:
            plain = ""  # the offline paths below still make a pair; the stage counts these
        if (
            plain
            and plainness_report(record["text"], plain)["word_jaccard"]
            <= params.max_paraphrase_jaccard
        ):
            user = rng.choice(params.phrasings["style_imitation"]).format(
                author=author, passage=plain
            )
    if user is None and rng.random() >= params.sketch_share:
        plain = plainify(record["text"])
        report = plainness_report(record["text"], plain)
        if plain and report["changed_words"] >= params.min_changed_share * report["original_words"]:
            user = rng.choice(params.phrasings["style_imitation"]).format(
                author=author, passage=plain
            )
    if user is None:
        opening = plainify(record["text"], max_words=params.sketch_opening_words)
        if len(terms) < 3 or not opening:
            return None, "no distinctive words to sketch the passage with"
        user = rng.choice(params.phrasings["style_sketch"]).format(
            author=author, terms=", ".join(terms), opening=opening
        )
    tags = record["tags"]
    system = personas.system_prompt(rng, persona, tags["tone"], tags["domain"])
    pair = sft_record(
        f"instruct:style:{record['id']}",
        "style_imitation",
        system,
        user,
        record["text"],
        tags,
        [record["id"]],
    )
    return pair, ""


def topic_of(text: str, rng: random.Random, weather_words: frozenset[str]) -> str | None:
    words = re.findall(r"[A-Za-z][a-z']+", text)
    weather = [w.lower() for w in words if w.lower() in weather_words]
    if weather:
        return weather[0]
    content = [w.lower() for w in words if len(w) >= 5 and w.lower() not in _STOPWORDS]
    return rng.choice(content) if content else None


def humor_pair(record: dict, params: InstructParams, weather_words: frozenset[str]) -> dict:
    rng = rng_for(params.seed, "humor:" + record["id"])
    subreddit = record["meta"].get("subreddit", "TheOnion")
    topic = topic_of(record["text"], rng, weather_words)
    if subreddit == "nottheonion":
        user = rng.choice(params.phrasings["humor_real"])
    elif topic and rng.random() < 0.6:
        user = rng.choice(params.phrasings["humor_topic"]).format(topic=topic)
    else:
        user = rng.choice(params.phrasings["humor"])
    tags = record["tags"]
    system = personas.system_prompt(rng, "neutral", tags["tone"], tags["domain"])
    return sft_record(
        f"instruct:humor:{record['id']}",
        "humor",
        system,
        user,
        record["text"],
        tags,
        [record["id"]],
    )


def aphorism_pair(record: dict, maxim: str, n: int, params: InstructParams) -> dict | None:
    """The passage around a maxim, plain and without the maxim, asks for the maxim."""
    rng = rng_for(params.seed, f"aphorism:{record['id']}:{n}")
    context = record["text"].replace(maxim, " ")
    context = re.sub(r"[-\u2014]*\s*Pudd'nhead Wilson's (?:New )?Calendar\.?", " ", context)
    context = re.sub(r'"[^"]{0,3}"\s*,?\s*as Poor Richard (?:\w+ )?says\.?', " ", context)
    plain = plainify(context, max_words=params.aphorism_context_words)
    if len(plain.split()) < 12:
        return None
    tags = {**record["tags"], "tone": "aphoristic"}
    system = personas.system_prompt(rng, tags["persona"], "aphoristic", tags["domain"])
    user = rng.choice(params.phrasings["aphorism"]).format(passage=plain)
    return sft_record(
        f"instruct:aphorism:{record['id']}:{n}",
        "aphorism",
        system,
        user,
        maxim,
        tags,
        [record["id"]],
    )


def safety_pair(index: int, joke: tuple[str, str], params: InstructParams, persona: str) -> dict:
    rng = rng_for(params.seed, f"safety:{index}")
    group = rng.choice(params.unsafe_groups)
    user = rng.choice(params.phrasings["safety"]).format(group=group)
    decline = personas.pick(rng, personas.DECLINE[persona])
    joke_id, joke_text = joke
    assistant = f'{decline} {personas.pick(rng, personas.OFFER[persona])} "{joke_text}"'
    tone = personas.PERSONA_TONE[persona]
    tags = {"persona": persona, "tone": tone, "domain": "general", "source": "reddit"}
    system = personas.system_prompt(rng, persona, tone, "general")
    return sft_record(
        f"instruct:safety:{index:05d}", "safety", system, user, assistant, tags, [joke_id]
    )


def take(records: list[dict], n: int, seed: int, salt: str) -> list[dict]:
    """A seeded sample of n records that does not depend on their order."""
    chosen = seeded_order(records, seed, key=lambda r: f"{salt}:{r['id']}")[:n]
    return sorted(chosen, key=lambda r: r["id"])
