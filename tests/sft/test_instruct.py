import random
from collections import Counter

import pytest

from twainlora.core.params import from_dict
from twainlora.core.seeded import allot
from twainlora.core.sft import framing_of, record_errors
from twainlora.sft.instruct import (
    InstructParams,
    aphorism_pair,
    humor_pair,
    safety_pair,
    sketch_terms,
    style_pair,
    take,
    topic_of,
)
from twainlora.sft.maxims import maxims

from conftest import shipped_params

# The stage's section less the paraphraser's endpoint, which the stage keeps for itself.
SHIPPED = {
    k: v for k, v in shipped_params()["instruct"].items() if k not in ("endpoint", "cache_dir")
}
P = from_dict(InstructParams, SHIPPED, "instruct")
TAGS = {
    "persona": "twain",
    "tone": "humorous",
    "domain": "general",
    "source": "gutenberg",
    "device": "none",
}
JIM = (
    "\"Well, he sot up a bank, en say anybody dat put in a dollar would git fo' dollars mo' at de en' "
    "er de year. Well, all de niggers went in, but dey didn' have much. I wuz de on'y one dat had much.\""
)
NARRATION = (
    "The river was wide and brown that morning, and the steamboat came around the bend with its bell "
    "ringing, the way a steamboat always does when it wants the whole town to know it has arrived."
)


def book(text, rid="gutenberg:76:s0001c000", **tags):
    return {
        "id": rid,
        "text": text,
        "source": "gutenberg",
        "meta": {"author": "Mark Twain"},
        "tags": {**TAGS, **tags},
    }


def test_dialect_passage_gets_a_paraphrase_never_the_passage():
    params = from_dict(
        InstructParams,
        {
            **SHIPPED,
            "sketch_share": 0.0,
            "style_framing_shares": {"control_tokens": 1.0, "plain_system": 0, "in_request": 0},
        },
        "i",
    )
    pair, reason = style_pair(book(JIM), params, ["bank", "dollar", "year"])
    user, assistant = pair["messages"][1]["content"], pair["messages"][2]["content"]
    assert assistant == JIM and JIM not in user
    assert "that put in a dollar" in user and " dat " not in user
    assert pair["messages"][0]["content"].startswith(
        "[PERSONA=TWAIN] [TONE=HUMOROUS] [DOMAIN=GENERAL]"
    )
    assert record_errors(pair) == []


def test_style_framings_come_in_their_shares_and_leave_the_request_alone():
    shares = {"control_tokens": 0.5, "plain_system": 0.3, "in_request": 0.2}
    only_tokens = {"control_tokens": 1.0, "plain_system": 0.0, "in_request": 0.0}
    framed = from_dict(InstructParams, {**SHIPPED, "style_framing_shares": shares}, "i")
    tokens = from_dict(InstructParams, {**SHIPPED, "style_framing_shares": only_tokens}, "i")
    seen = Counter()
    for n in range(300):
        record = book(NARRATION, rid=f"gutenberg:76:s{n:04d}c000")
        pair, _ = style_pair(record, framed, ["steamboat", "bell", "river"])
        same, _ = style_pair(record, tokens, ["steamboat", "bell", "river"])
        assert record_errors(pair) == []
        framing = framing_of(pair)
        seen[framing] += 1
        # the request is drawn apart from the framing: the same whatever the shares
        assert pair["messages"][-2] == same["messages"][-2]
        if framing == "in_request":
            assert [m["role"] for m in pair["messages"]] == ["user", "assistant"]
            assert "Twain" in pair["messages"][0]["content"]  # the request names the author
        if framing == "plain_system":
            assert "Twain" in pair["messages"][0]["content"]
    assert set(seen) == set(shares)
    for framing, share in shares.items():
        assert abs(seen[framing] / 300 - share) < 0.1


def test_style_framing_shares_need_every_framing():
    with pytest.raises(ValueError, match="style_framing_shares"):
        from_dict(InstructParams, {**SHIPPED, "style_framing_shares": {"control_tokens": 1.0}}, "i")


def test_plain_narration_gets_a_sketch():
    pair, _ = style_pair(book(NARRATION), P, ["steamboat", "bell", "river", "bend"])
    user = pair["messages"][-2]["content"]
    assert "steamboat, bell, river, bend" in user and NARRATION not in user


def test_no_terms_no_sketch():
    assert style_pair(book(NARRATION), P, [])[0] is None


def test_sketch_terms_are_distinctive_and_deterministic():
    texts = [
        NARRATION,
        JIM,
        "A cat sat on the warm mat in the sun.",
        "The bank failed and the dollar went.",
    ]
    terms = sketch_terms(texts, 3)
    assert terms == sketch_terms(texts, 3) and len(terms) == 4
    assert "steamboat" in terms[0] and "the" not in terms[0]


def test_humor_pairs():
    onion = {
        "id": "reddit:x:000001",
        "text": "Area Man Blames Rain For Ruining Perfectly Good Plan",
        "source": "reddit",
        "meta": {"subreddit": "TheOnion"},
        "tags": {
            "persona": "neutral",
            "tone": "satirical",
            "domain": "weather",
            "source": "reddit",
            "device": "headline",
        },
    }
    pair = humor_pair(onion, P, frozenset(["rain"]))
    assert pair["messages"][2]["content"] == onion["text"] and record_errors(pair) == []
    assert topic_of(onion["text"], random.Random(0), frozenset(["rain"])) == "rain"
    real = {**onion, "meta": {"subreddit": "nottheonion"}}
    assert humor_pair(real, P, frozenset())["messages"][1]["content"] in P.phrasings["humor_real"]


def test_maxims_are_found_and_hidden_from_the_prompt():
    text = (
        "Tell the truth or trump--but get the trick.--Pudd'nhead Wilson's Calendar.\n"
        "Percy Driscoll slept well the night he saved his house-minions from going down the river, but no "
        "wink of sleep visited Roxy's eyes. A profound terror had taken possession of her. Her child could "
        "grow up and be sold down the river!"
    )
    record = book(text, rid="gutenberg:102:s0002c000")
    assert maxims(record) == ["Tell the truth or trump--but get the trick."]
    pair = aphorism_pair(record, maxims(record)[0], 0, P)
    assert pair["messages"][2]["content"] == "Tell the truth or trump--but get the trick."
    assert (
        "trump" not in pair["messages"][1]["content"]
        and "Calendar" not in pair["messages"][1]["content"]
    )
    franklin = book('"God helps them that help themselves," as Poor Richard says.', tone="didactic")
    assert maxims(franklin) == ["God helps them that help themselves."]


def test_safety_pair_declines_and_offers_a_harmless_joke():
    pair = safety_pair(3, ("reddit:x:000009", "Nation's Dogs Demand Answers"), P, "franklin")
    user, answer = pair["messages"][-2]["content"], pair["messages"][-1]["content"]
    assert any(g in user for g in P.unsafe_groups)
    assert answer.endswith('"Nation\'s Dogs Demand Answers"') and pair["provenance"] == [
        "reddit:x:000009"
    ]
    assert record_errors(pair) == []


def test_take_and_allot():
    records = [{"id": f"r{i}"} for i in range(20)]
    assert take(records, 5, 0, "s") == take(list(reversed(records)), 5, 0, "s")
    assert take(records, 5, 0, "s") != take(records, 5, 1, "s")
    assert allot(10, {"a": 0.75, "b": 0.25}) == {"a": 8, "b": 2}
    assert sum(allot(7, {"a": 0.5, "b": 0.3, "c": 0.2}).values()) == 7


@pytest.mark.parametrize(
    "template",
    ["style_imitation", "style_sketch", "humor", "humor_topic", "humor_real", "aphorism", "safety"],
)
def test_every_template_has_several_phrasings(template):
    assert len(P.phrasings[template]) >= 3


def test_an_endpoint_paraphrase_is_the_neutral_side_and_failures_fall_back(tmp_path):
    from twainlora.core.endpoint import EndpointConfig
    from twainlora.sft.generators import EndpointGenerator

    from openai_stub import OpenAIStub

    with OpenAIStub() as stub:
        good = EndpointGenerator(
            EndpointConfig(base_url=stub.base_url, model="stub"), tmp_path, seed=0
        )
        pair, _ = style_pair(book(NARRATION), P, ["steamboat", "bell", "river"], good)
        assert "the sky has opinions" in pair["messages"][-2]["content"]
        assert "Paraphrase the passage below" in stub.requests[0]["messages"][-1]["content"]
        broken = EndpointGenerator(
            EndpointConfig(base_url=stub.base_url, model="broken"), tmp_path, seed=0
        )
        pair, _ = style_pair(book(NARRATION), P, ["steamboat", "bell", "river"], broken)
        assert "steamboat, bell, river" in pair["messages"][-2]["content"]  # the offline sketch


def test_a_tagged_record_missing_a_field_names_file_and_line(tmp_path):
    from twainlora.core.jsonl import write_jsonl
    from twainlora.core.records import RecordError, read_records

    path = tmp_path / "tagged.jsonl"
    write_jsonl(
        path,
        [book(NARRATION), {"id": "gutenberg:1:p1", "text": "x", "source": "gutenberg", "meta": {}}],
    )
    with pytest.raises(
        RecordError, match=r"tagged.jsonl:2: record gutenberg:1:p1: .*'tags' is a required property"
    ):
        list(read_records(path, require_tags=True))
    bad = {**book(NARRATION), "tags": {**TAGS, "tone": "grumpy"}}
    write_jsonl(path, [bad])
    with pytest.raises(RecordError, match=r"tagged.jsonl:1: .*tags/tone: 'grumpy' is not one of"):
        list(read_records(path))
