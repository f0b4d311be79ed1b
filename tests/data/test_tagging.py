import pytest

from twainlora.core.params import from_dict
from twainlora.core.records import validation_errors
from twainlora.data.tagging import (
    Tagger,
    TagRules,
    ToneClassifier,
    ToneClassifierParams,
    spot_label_agreement,
    spot_sample,
)

from conftest import shipped_params


@pytest.fixture(scope="module")
def tagger():
    return Tagger(from_dict(TagRules, shipped_params()["tag"]["rules"], "tag.rules"))


def book(text, author="Mark Twain", gid=76):
    return {
        "id": f"gutenberg:{gid}:s0001c000",
        "text": text,
        "source": "gutenberg",
        "meta": {"author": author, "gutenberg_id": gid},
    }


def headline(text, subreddit):
    return {
        "id": "reddit:x:000001",
        "text": text,
        "source": "reddit",
        "meta": {"subreddit": subreddit},
    }


def test_headline_tags(tagger):
    tags = tagger.tags(headline("Area Man Blames Rain For Everything", "TheOnion"), 0.9)
    assert tags == {
        "persona": "neutral",
        "tone": "satirical",
        "domain": "weather",
        "source": "reddit",
        "device": "headline",
    }
    assert tagger.tags(headline("Town Bans Lawn Flamingos", "nottheonion"), 0.1)["tone"] == "wry"


def test_book_tags(tagger):
    humorous = tagger.tags(book("It was the biggest liar in the world, they said."), 0.9)
    assert humorous["persona"] == "twain" and humorous["tone"] == "humorous"
    assert humorous["device"] == "hyperbole" and humorous["domain"] == "general"
    sober = tagger.tags(book("Electricity is a fluid.", author="Benjamin Franklin", gid=48137), 0.1)
    assert sober["persona"] == "franklin" and sober["tone"] == "didactic"
    maxims = tagger.tags(book("Early to bed.", author="Benjamin Franklin", gid=43855), 0.1)
    assert maxims["tone"] == "aphoristic"
    stormy = tagger.tags(book("The storm came, then rain, then snow, and the wind howled."), 0.1)
    assert stormy["domain"] == "weather"
    assert validation_errors({**book("x"), "tags": stormy}) == []


def test_tone_classifier_learns_weak_labels():
    records = [
        headline(f"Area Man Heroically Eats Entire Cake Number {i} Out Of Spite", "TheOnion")
        for i in range(60)
    ] + [
        headline(f"Senate Committee Approves Budget Measure For Fiscal Year {i}", "nottheonion")
        for i in range(60)
    ]
    params = ToneClassifierParams(
        humorous=["subreddit:TheOnion"], serious=["subreddit:nottheonion"], epoch=20
    )
    clf, report = ToneClassifier.train(records, params)
    assert report["heldout_accuracy"] == 1.0 and report["heldout"] == 12
    fun, dull = clf.humorous_prob(
        ["Area Man Eats Cake Out Of Spite", "Senate Approves Budget Measure"]
    )
    assert fun > 0.5 > dull


def test_tone_classifier_needs_both_labels():
    with pytest.raises(ValueError, match="no weakly labeled serious records"):
        ToneClassifier.train(
            [headline("x", "TheOnion")],
            ToneClassifierParams(humorous=["subreddit:TheOnion"], serious=["author:Nobody"]),
        )


def test_spot_sample_is_seeded_and_agreement_counts_only_labeled_rows():
    records = [{"id": f"r{i:03d}"} for i in range(100)]
    assert spot_sample(records, 10, seed=1) == spot_sample(records, 10, seed=1)
    assert spot_sample(records, 10, seed=1) != spot_sample(records, 10, seed=2)
    rows = [
        {"tone": "humorous", "human_tone": "Humorous", "persona": "twain", "human_persona": ""},
        {"tone": "wry", "human_tone": "humorous", "persona": "twain", "human_persona": ""},
    ]
    agreement = spot_label_agreement(rows)
    assert agreement["tone"] == {"labeled": 2, "agreement": 0.5}
    assert agreement["persona"] == {"labeled": 0, "agreement": None}


def test_record_schema_names_the_bad_field():
    errors = validation_errors(
        {
            "id": "gutenberg:1:p1",
            "text": "x",
            "source": "gutenberg",
            "meta": {},
            "tags": {
                "persona": "poe",
                "tone": "wry",
                "domain": "general",
                "source": "gutenberg",
                "device": "none",
            },
        }
    )
    assert len(errors) == 1 and errors[0].startswith("tags/persona:")


def test_spot_sheet_keeps_the_labels_a_human_filled_in(tmp_path):
    from twainlora.data.tagging import read_spot_labels, spot_sheet, tag_counts

    tags = {
        "persona": "twain",
        "tone": "wry",
        "domain": "general",
        "source": "gutenberg",
        "device": "none",
    }
    tagged = [
        {"id": f"r{i}", "source": "gutenberg", "text": "x" * 700, "tags": tags} for i in range(3)
    ]
    assert read_spot_labels(tmp_path / "absent.csv") == {}
    (tmp_path / "sheet.csv").write_text("id,tone,human_tone\nr1,wry,satirical\n")
    rows = spot_sheet(tagged, 3, 0, read_spot_labels(tmp_path / "sheet.csv"))
    assert [(r["id"], r["human_tone"], r["human_persona"]) for r in rows] == [
        ("r0", "", ""),
        ("r1", "satirical", ""),
        ("r2", "", ""),
    ]
    assert len(rows[0]["text"]) == 600
    assert tag_counts(tagged)["tone"] == {"wry": 3}
