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
from collections import Counter
from dataclasses import dataclass

from twainlora.core.records import reject
from twainlora.core.seeded import allot, seeded_order
from twainlora.core.sft import STYLE_FRAMINGS, framing_of
from twainlora.domain import personas
from twainlora.sft.maxims import maxims
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
    # "plainify" (offline) or "endpoint": paraphrases by the model in the instruct section's
    # own `endpoint`, cached under its cache_dir; a failed or too close one falls back to the
    # offline paths.
    neutral_side: str
    max_paraphrase_jaccard: float  # an endpoint paraphrase closer than this is not used
    min_changed_share: float  # a paraphrase must change at least this share of the words
    sketch_terms: int
    sketch_opening_words: int
    aphorism_context_words: int
    phrasings: dict[str, list[str]]
    unsafe_groups: list[str]
    # How a style pair asks for the voice: shares of control_tokens, plain_system, in_request.
    style_framing_shares: dict[str, float]

    def __post_init__(self):
        if self.neutral_side not in ("plainify", "endpoint"):
            raise ValueError("neutral_side must be 'plainify' or 'endpoint'")
        if set(self.style_framing_shares) != set(STYLE_FRAMINGS):
            raise ValueError(f"style_framing_shares needs exactly the keys {STYLE_FRAMINGS}")


def rng_for(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:{key}")


def sft_record(
    rid: str,
    template: str,
    system: str | None,
    user: str,
    assistant: str,
    tags: dict,
    provenance: list[str],
) -> dict:
    """A three-turn record; two turns (no system message) when system is None."""
    opening = [] if system is None else [{"role": "system", "content": system}]
    return {
        "id": rid,
        "messages": [
            *opening,
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
            plain = ""  # the offline paths below still make a pair; no metric counts these
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
    system = style_system_prompt(record["id"], persona, tags, params)
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


def style_system_prompt(
    record_id: str, persona: str, tags: dict, params: InstructParams
) -> str | None:
    """The system prompt of the framing drawn for this pair (style_framing_shares), from a
    generator of its own so that the user side does not depend on it."""
    rng = rng_for(params.seed, "framing:" + record_id)
    framing = rng.choices(
        STYLE_FRAMINGS, weights=[params.style_framing_shares[f] for f in STYLE_FRAMINGS]
    )[0]
    if framing == "control_tokens":
        return personas.system_prompt(rng, persona, tags["tone"], tags["domain"])
    if framing == "plain_system":
        return personas.plain_system_prompt(rng, persona)
    return None


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


def style_pairs(
    records: list[dict], params: InstructParams, paraphraser=None
) -> tuple[list[dict], list[dict]]:
    """Style pairs from a seeded sample of Twain and Franklin passages (style_persona_shares
    of targets["style_imitation"]), and a reject for each passage that could not be one."""
    from tqdm import tqdm

    counts = allot(params.targets["style_imitation"], params.style_persona_shares)
    chosen = []
    for persona, n in counts.items():
        pool = [
            r for r in records if r["source"] == "gutenberg" and r["tags"]["persona"] == persona
        ]
        chosen += take(pool, n, params.seed, "style")
    terms = sketch_terms([r["text"] for r in chosen], params.sketch_terms)
    pairs, rejects = [], []
    for record, record_terms in tqdm(list(zip(chosen, terms, strict=True)), desc="instruct: style"):
        pair, reason = style_pair(record, params, record_terms, paraphraser)
        if pair is None:
            rejects.append(reject(record, "instruct", "no_neutral_side", reason))
        else:
            pairs.append(pair)
    return pairs, rejects


def humor_pairs(
    records: list[dict], params: InstructParams, weather_words: frozenset[str]
) -> list[dict]:
    """Real headlines, humor_subreddit_shares of targets["humor"]."""
    pairs = []
    for subreddit, n in allot(params.targets["humor"], params.humor_subreddit_shares).items():
        pool = [r for r in records if r["meta"].get("subreddit") == subreddit]
        pairs += [humor_pair(r, params, weather_words) for r in take(pool, n, params.seed, "humor")]
    return pairs


def aphorism_pairs(records: list[dict], params: InstructParams) -> list[dict]:
    """Real maxims with the passage around them, each maxim once, the first
    targets["aphorism"] by id."""
    seen, pairs = set(), []
    for record in records:
        if record["source"] != "gutenberg" or record["tags"]["persona"] == "neutral":
            continue
        for n, maxim in enumerate(maxims(record)):
            if maxim.lower() in seen:  # the same epigraph in two editions or chunk overlaps
                continue
            if pair := aphorism_pair(record, maxim, n, params):
                seen.add(maxim.lower())
                pairs.append(pair)
    return sorted(pairs, key=lambda r: r["id"])[: params.targets["aphorism"]]


def safety_pairs(records: list[dict], params: InstructParams) -> list[dict]:
    """A decline and a harmless satire headline instead, for a seeded sample of the
    headlines, the personas in safety_persona_shares."""
    jokes = [(r["id"], r["text"]) for r in records if r["tags"]["tone"] == "satirical"]
    jokes = [
        (j["id"], j["text"])
        for j in take(
            [{"id": i, "text": t} for i, t in jokes],
            params.targets["safety"],
            params.seed,
            "safety",
        )
    ]
    voices = [
        k for k, n in allot(len(jokes), params.safety_persona_shares).items() for _ in range(n)
    ]
    return [
        safety_pair(i, joke, params, persona)
        for i, (joke, persona) in enumerate(zip(jokes, voices, strict=True))
    ]


def template_mix(
    records: list[dict], params: InstructParams, weather_words: frozenset[str], paraphraser=None
) -> tuple[list[dict], list[dict]]:
    """(pairs, rejects): the four templates in this order, each up to its target."""
    pairs, rejects = style_pairs(records, params, paraphraser)
    pairs += humor_pairs(records, params, weather_words)
    pairs += aphorism_pairs(records, params)
    pairs += safety_pairs(records, params)
    return pairs, rejects


def mix_metrics(pairs: list[dict], rejects: list[dict], params: InstructParams) -> dict:
    """Pairs per template, persona, tone and domain; the shortfall against each target."""
    by_template = Counter(r["tags"]["template"] for r in pairs)
    return {
        "pairs": len(pairs),
        "templates": dict(sorted(by_template.items())),
        "shortfall": {
            t: params.targets[t] - by_template.get(t, 0)
            for t in sorted(params.targets)
            if by_template.get(t, 0) < params.targets[t]
        },
        "template_persona": dict(
            sorted(
                Counter(f"{r['tags']['template']}/{r['tags']['persona']}" for r in pairs).items()
            )
        ),
        "tones": dict(sorted(Counter(r["tags"]["tone"] for r in pairs).items())),
        "domains": dict(sorted(Counter(r["tags"]["domain"] for r in pairs).items())),
        "style_framings": dict(
            sorted(
                Counter(
                    framing_of(r) for r in pairs if r["tags"]["template"] == "style_imitation"
                ).items()
            )
        ),
        "rejected": dict(Counter(r["reason"] for r in rejects)),
        "neutral_side": params.neutral_side,
    }
