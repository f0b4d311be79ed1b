"""The style classifier's labels, windows and report, on hand-made cases and on a small slice
of the real corpora; the style prompts and adherence."""

import csv

import pytest

from twainlora.data.fasttext_classifier import FastTextClassifier, settings_of
from twainlora.eval import style as ev
from twainlora.eval.compare import wilson

from conftest import SHARED_CORPORA


def test_classification_report():
    actual = ["twain", "twain", "franklin", "satire"]
    predicted = ["twain", "franklin", "franklin", "satire"]
    report = ev.classification_report(actual, predicted)
    assert report["accuracy"] == 0.75
    assert report["f1"] == {"twain": 0.6667, "franklin": 0.6667, "satire": 1.0}
    assert report["macro_f1"] == 0.7778 and report["support"] == {
        "twain": 2,
        "franklin": 1,
        "satire": 1,
    }


def test_style_scores_count_empty_answers_as_misses_per_persona_and_framing():
    probs = [{"twain": 0.9, "franklin": 0.1}, {"twain": 0.3, "franklin": 0.7}, {"twain": 0.8}]
    requested = [("twain", "control_tokens"), ("twain", "in_request"), ("franklin", "plain")]
    out = ev.style_scores(requested, probs, ["a", "b", ""])
    assert out["n"] == 3 and out["mean_prob"] == 0.4
    assert out["adherence"]["rate"] == 0.3333 and out["adherence"]["n"] == 3
    assert out["twain_share"]["rate"] == 0.5 and out["twain_share"]["ci95"] == wilson(1, 2)
    assert out["twain_share"]["by_framing"] == {"control_tokens": 1.0, "in_request": 0.0}
    assert out["franklin_share"]["rate"] == 0.0 and out["franklin_share"]["n"] == 1


def test_labels_come_from_tags():
    def record(persona, source, template, texts):
        messages = [{"role": "user", "content": "q"}] + [
            {"role": "assistant", "content": t} for t in texts
        ]
        return {
            "messages": messages,
            "tags": {"persona": persona, "source": source, "template": template},
        }

    assert ev.sft_examples(record("twain", "gutenberg", "style_imitation", ["passage"])) == [
        ("twain", "passage")
    ]
    assert ev.sft_examples(record("neutral", "reddit", "humor", ["Area Man"])) == [
        ("satire", "Area Man")
    ]
    assert ev.sft_examples(record("neutral", "synthetic", "tool_success", ["a", "b"])) == [
        ("neutral", "a"),
        ("neutral", "b"),
    ]
    # synthetic imitations and refusals would blur the labels
    assert ev.sft_examples(record("twain", "synthetic", "style_imitation", ["x"])) == []
    assert ev.sft_examples(record("twain", "reddit", "safety", ["x"])) == []


def test_other_authors_hold_out_chunks_and_drop_their_overlapping_neighbours():
    records = [
        {
            "id": f"gutenberg:98:s0000c{c:03d}",
            "text": f"chunk {c}",
            "source": "gutenberg",
            "meta": {"author": "Charles Dickens"},
        }
        for c in range(40)
    ] + [
        {
            "id": "gutenberg:76:s0000c000",
            "text": "huck",
            "source": "gutenberg",
            "meta": {"author": "Mark Twain"},
        }
    ]
    train, held = ev.other_author_examples(records, holdout=0.2, seed=0)
    held_ids = {int(t.split()[1]) for _, t in held}
    train_ids = {int(t.split()[1]) for _, t in train}
    assert held_ids and not train_ids & {c + d for c in held_ids for d in (-1, 0, 1)}
    assert len(held_ids) + len(train_ids) < 40 and all(lab == "other" for lab, _ in train + held)


def test_windows_and_balance():
    assert ev.windows("a b c d e f g", 3, 2) == ["a b c", "d e f"]
    examples = [("twain", f"t{i}") for i in range(10)] + [("satire", "s"), ("satire", "s")]
    out = ev.balanced(examples, cap=4, seed=0)
    assert sorted(lab for lab, _ in out) == ["satire"] + ["twain"] * 4
    assert out == ev.balanced(examples, cap=4, seed=0)


def paragraphs(path, start, n, min_words=25):
    text = path.read_text("utf-8", errors="replace").replace("\r\n", "\n")
    paras = [" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) >= min_words]
    return paras[start : start + n]


@pytest.mark.skipif(not (SHARED_CORPORA / "gutenberg").exists(), reason="needs the corpora mirror")
def test_the_classifier_tells_authors_apart_on_real_text():
    g = SHARED_CORPORA / "gutenberg"
    with open(SHARED_CORPORA / "reddit/OnionOrNot.csv", encoding="utf-8") as f:
        onion = [row["text"] for row in csv.DictReader(f) if row["label"] == "1"]
    sources = {
        "twain": g / "twain/76_huckleberry_finn.txt",
        "franklin": g / "franklin/148_autobiography.txt",
        "other": g / "darwin/1228_origin_of_species.txt",
    }
    train, held = [], []
    for label, path in sources.items():
        train += [(label, p) for p in paragraphs(path, 100, 120)]
        held += [(label, p) for p in paragraphs(path, 400, 20)]
    train += [("satire", h) for h in onion[:400]]
    held += [("satire", h) for h in onion[1000:1020]]
    params = ev.ClassifierParams(
        window_words=60, min_words=4, max_per_label=400, max_eval_per_label=50,
        holdout_other=0.1, epoch=25, lr=0.5, word_ngrams=2, dim=30, seed=0,
    )  # fmt: skip
    windows = [(lab, w) for lab, t in train for w in ev.windows(t, 60, 4)]
    classifier = FastTextClassifier.train(ev.balanced(windows, 400, 0), **settings_of(params))
    report = ev.classification_report(
        [lab for lab, _ in held], classifier.predict([t for _, t in held])
    )
    assert report["accuracy"] >= 0.85, report
    probs = classifier.probabilities(
        ["Well, I reckon I warn't going to let Tom and Jim get ahead of me, so I lit out."]
    )[0]
    assert max(probs, key=probs.get) == "twain" and abs(sum(probs.values()) - 1) < 1e-3


class Labeller:
    """A classifier that names itself: probabilities(texts) -> {name: 1.0} per text."""

    def __init__(self, name):
        self.name = name

    def probabilities(self, texts):
        return [{self.name: 1.0} for _ in texts]


def test_each_reply_is_scored_by_the_fold_that_never_saw_its_prompt():
    ids = [f"style:{i:03d}" for i in range(40)]
    folds = ev.prompt_folds(ids, seed=0)
    assert folds == ev.prompt_folds(ids, seed=0) and sum(folds) == 20
    scorer = ev.CrossFitted([Labeller("zero"), Labeller("one")], folds)
    scored = scorer.probabilities([f"reply {i}" for i in ids])
    # the classifier trained on fold k's base replies scores the other fold's prompts
    assert [next(iter(p)) for p in scored] == ["one" if f == 0 else "zero" for f in folds]
    with pytest.raises(ValueError, match="39 replies for 40 style prompts"):
        scorer.probabilities(["x"] * 39)
