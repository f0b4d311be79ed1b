"""The held-out evaluation sets: what each item expects follows from the tool and the weather
service, the novel share really is novel, nothing near a train prompt survives, and the
stage is deterministic."""

import datetime as dt
import json

import pytest

from twainlora.core.params import from_dict
from twainlora.core.sft import STYLE_FRAMINGS
from twainlora.data.dedupe import MinHashParams, jaccard, shingles
from twainlora.domain import personas
from twainlora.domain.weather import DATE_KEYS, LOCATION_KEYS, WeatherService, WeatherWorld
from twainlora.eval import heldout
from twainlora.eval import heldout_phrases as P
from twainlora.sft.episodes import dates, phrases, unrelated

from conftest import FIXTURES, fixture_world, run_stage, shipped_params, write_params

CITIES = FIXTURES / "mirror/geo/cities.csv"
MINHASH = MinHashParams(
    shingle_words=3, num_perm=128, bands=32, rows=4, jaccard_threshold=0.7, seed=1
)


def params(**changes) -> heldout.HeldoutParams:
    section = {
        **shipped_params()["heldout"],
        "tool_counts": {k: 6 for k in heldout.TOOL_KINDS},
        "style_counts": {k: 4 for k in heldout.STYLE_KINDS},
        **changes,
    }
    return from_dict(heldout.HeldoutParams, section, "heldout")


WORLD = from_dict(WeatherWorld, fixture_world(CITIES), "weather_world")


@pytest.fixture(scope="module")
def service():
    return WeatherService.from_csv(CITIES)


def builder(service, **changes):
    books = [("Roughing It", "Mark Twain"), ("Emma", "Jane Austen")]
    headlines = ["Area man wins argument with weather vane"]
    return heldout.HeldoutBuilder(
        service, params(**changes), WORLD, {"Cairo, Egypt"}, books, headlines
    )


def test_the_shipped_params_parse_and_bad_counts_are_refused():
    section = dict(shipped_params()["heldout"])
    parsed = from_dict(heldout.HeldoutParams, section, "heldout")
    # The minimum sizes for the cpu profile.
    assert parsed.tool_counts["call_explicit"] >= 60 and parsed.tool_counts["unrelated"] >= 60
    assert sum(parsed.style_counts.values()) >= 120 and parsed.novel_share >= 1 / 3
    with pytest.raises(ValueError, match="tool_counts needs exactly"):
        from_dict(heldout.HeldoutParams, {**section, "tool_counts": {"call": 3}}, "heldout")


def test_train_cities_are_never_asked_about(service):
    b = builder(service)
    assert "Cairo, Egypt" not in {c.label for c in b.cities}
    # Paris, Texas is no city a bare name reaches: only the most populous Paris is asked for.
    assert [c.label for c in b.cities if c.name == "Paris"] == ["Paris, Île-de-France, France"]


def test_when_train_names_every_city_the_items_reuse_them_and_say_so(service):
    every = {c.label for c in service.cities}
    b = heldout.HeldoutBuilder(service, params(), WORLD, every, [], [])
    assert not b.unseen_cities and b.cities
    assert builder(service).unseen_cities


def test_each_kind_expects_what_the_tool_and_the_service_say(service):
    b = builder(service)
    for kind in heldout.TOOL_KINDS:
        for i in range(12):
            item = b.tool_item(kind, i, novel=i % 2 == 0)
            expect, messages = item["expect"], item["messages"]
            names = [t["function"]["name"] for t in item["tools"]]
            assert expect["function"] in names
            weather = next(t for t in item["tools"] if t["function"]["name"] == expect["function"])
            properties = weather["function"]["parameters"]["properties"]
            assert {expect["location_key"], expect["date_key"]} <= set(properties)
            if kind.startswith("call_"):
                assert expect["call"] is True and messages[-1]["role"] == "user"
                city = service.resolve(expect["location"])
                assert city is not None and city.name in messages[-1]["content"]
            elif kind in ("after_result", "after_error"):
                call, tool = messages[-2], messages[-1]
                arguments = json.loads(call["tool_calls"][0]["function"]["arguments"])
                result = json.loads(tool["content"])
                assert result == expect["result"] and expect["call"] is False
                assert set(arguments) == {expect["location_key"], expect["date_key"]}
                if kind == "after_result":
                    assert result == service.get_weather(
                        arguments[expect["location_key"]], arguments[expect["date_key"]]
                    )
                else:
                    assert "error" in result
            elif kind == "missing_date":
                assert expect["call"] is None and expect["ask"] == "date"
                assert service.resolve(expect["location"]) is not None
            else:
                assert expect["call"] is False


def test_relative_dates_resolve_against_the_system_prompt(service):
    b = builder(service)
    for i in range(20):
        item = b.tool_item("call_relative", i, novel=True)
        system, request = item["messages"][0]["content"], item["messages"][1]["content"]
        offset = next(days for phrase, days in P.NOVEL_RELATIVE if phrase in request)
        today = dt.date.fromisoformat(item["expect"]["date"]) - dt.timedelta(days=offset)
        spelled = f"{today.day} {dates.MONTHS[today.month - 1]} {today.year}"
        assert today.isoformat() in system or spelled in system


def test_a_weekday_is_asked_for_only_where_the_system_prompt_names_today_s(service):
    # "on Friday" under "Today's date is 2026-03-02." has no answer short of a calendar.
    b = builder(service)
    asked = 0
    for i in range(60):
        item = b.tool_item("call_relative", i, novel=False)
        system, request = item["messages"][0]["content"], item["messages"][1]["content"]
        day = dt.date.fromisoformat(item["expect"]["date"])
        if dates.WEEKDAYS[day.weekday()] in request:
            asked += 1
            today = next(d for d in dates.WEEKDAYS if d in system)
            ahead = (
                dates.WEEKDAYS.index(dates.WEEKDAYS[day.weekday()]) - dates.WEEKDAYS.index(today)
            ) % 7
            assert 2 <= ahead <= 6, (system, request)
    assert asked  # the kind is still asked, under the prompts that allow it


def test_novel_items_use_no_name_or_phrasing_of_the_training_data(service):
    assert not set(P.NOVEL_TOOL_NAMES) & set(phrases.TOOL_NAMES + ["get_weather"])
    assert not set(P.NOVEL_LOCATION_KEYS) & set(LOCATION_KEYS)
    assert not set(P.NOVEL_DATE_KEYS) & set(DATE_KEYS)
    assert not set(P.NOVEL_REQUESTS) & set(phrases.REQUESTS)
    assert not set(P.NOVEL_NO_PLACE_REQUESTS) & set(phrases.NO_PLACE_REQUESTS)
    assert not set(P.NOVEL_NO_DATE_REQUESTS) & set(phrases.NO_DATE_REQUESTS)
    assert not set(P.UNRELATED_CITY) & set(
        unrelated.CITY_TALK + [q for q, _ in unrelated.CITY_QUESTIONS]
    )
    training_system = [p for v in personas.PERSONA_PROMPTS.values() for p in v]
    b = builder(service)
    for kind in heldout.TOOL_KINDS:
        item = b.tool_item(kind, 0, novel=True)
        assert item["expect"]["function"] in P.NOVEL_TOOL_NAMES
        assert "[PERSONA=" not in item["messages"][0]["content"]
        assert not any(p in item["messages"][0]["content"] for p in training_system)


def test_build_drops_near_duplicates_of_train_prompts_and_keeps_the_counts(service):
    b = builder(service)
    first, _, _ = heldout.build(b, [], [], MINHASH)
    # A train set holding two of the held-out prompts verbatim, and one near copy.
    texts = [heldout.user_text(i["messages"]) for i in first[:2]]
    texts.append(texts[0].replace("?", "!"))
    tool, style, rejects = heldout.build(b, [], texts, MINHASH)
    kept_texts = [heldout.user_text(i["messages"]) for i in tool + style]
    assert not set(texts) & set(kept_texts)
    for text in kept_texts:
        assert all(jaccard(shingles(text, 3), shingles(t, 3)) < 0.7 for t in texts)
    assert {r["id"] for r in rejects} >= {first[0]["id"], first[1]["id"]}
    assert all(r["reason"] == "near-duplicate of a train prompt" for r in rejects)
    counts = {k: sum(i["kind"] == k for i in tool) for k in heldout.TOOL_KINDS}
    assert counts == {k: 6 for k in heldout.TOOL_KINDS}
    assert {i["framing"] for i in style} == set(STYLE_FRAMINGS)
    assert sum(i["novel"] for i in tool) >= len(tool) // 3


def test_tool_items_share_their_deployment_s_system_prompt_and_tools(service):
    b = builder(service, items_per_deployment=4)
    tool, _, _ = heldout.build(b, [], [], MINHASH)
    by_deployment: dict[str, list[dict]] = {}
    for item in tool:
        by_deployment.setdefault(item["deployment"], []).append(item)
    # 42 items, 17 of them novel: ceil(17 / 4) + ceil(25 / 4) deployments at most.
    assert 1 < len(by_deployment) <= 5 + 7
    assert max(len(items) for items in by_deployment.values()) > 1
    for name, items in by_deployment.items():
        first = items[0]
        assert name.startswith("novel:" if first["novel"] else "plain:")
        for item in items:
            assert item["novel"] == first["novel"] and item["persona"] == first["persona"]
            assert item["messages"][0] == first["messages"][0] and item["tools"] == first["tools"]
    # One item per deployment on average: many more system prompts and tool lists.
    alone, _, _ = heldout.build(builder(service, items_per_deployment=1), [], [], MINHASH)
    assert len({i["deployment"] for i in alone}) > len(by_deployment)


def test_the_stage_writes_the_same_bytes_twice_and_nothing_near_train(workdir):
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {
            "name": "get_weather",
            "arguments": '{"location": "Cairo", "date": "2026-01-02"}',
        },
    }
    train_tool = [
        {
            "id": "tool:00001",
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "Will it rain tomorrow?"},
                {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            ],
            "tags": {"template": "tool_success", "persona": "twain"},
        }
    ]
    train_style = [
        {
            "id": "instruct:x",
            "messages": [
                {"role": "user", "content": "As Mark Twain, tell me how you feel about Mondays."},
                {"role": "assistant", "content": "Poorly."},
            ],
            "tags": {"template": "style_imitation", "persona": "twain"},
        }
    ]
    tagged = [
        {
            "id": "gutenberg:1:p1",
            "text": "x",
            "source": "gutenberg",
            "meta": {"title": "A Tiny Book", "author": "Mark Twain"},
        },
        {
            "id": "reddit:oon:1",
            "text": "Local cloud refuses to rain",
            "source": "reddit",
            "meta": {},
        },
    ]
    for path, rows in [
        ("data/splits/train_tool.jsonl", train_tool),
        ("data/splits/train_style.jsonl", train_style),
        ("data/splits/eval_style.jsonl", []),
        ("data/tagged/records.jsonl", tagged),
    ]:
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    section = {
        **shipped_params()["heldout"],
        "tool_counts": {k: 5 for k in heldout.TOOL_KINDS},
        "style_counts": {"twain": 6, "franklin": 3, "weather_joke": 3, "passage": 0},
    }
    write_params(workdir, heldout=section, weather_world=fixture_world("mirror/geo/cities.csv"))
    run_stage("heldout", workdir)
    outputs = [workdir / "data/heldout/tool.jsonl", workdir / "data/heldout/style.jsonl"]
    first = [p.read_bytes() for p in outputs]
    run_stage("heldout", workdir)
    assert [p.read_bytes() for p in outputs] == first
    tool = [json.loads(line) for line in first[0].decode().splitlines()]
    style = [json.loads(line) for line in first[1].decode().splitlines()]
    assert len(tool) == 5 * len(heldout.TOOL_KINDS) and len(style) == 12
    train_texts = ["Will it rain tomorrow?", "As Mark Twain, tell me how you feel about Mondays."]
    for item in tool + style:
        text = heldout.user_text(item["messages"])
        assert all(jaccard(shingles(text, 3), shingles(t, 3)) < 0.7 for t in train_texts)
        assert "Cairo" not in json.dumps(item)  # the city train examples call for
    rejects = (workdir / "data/rejects/heldout.jsonl").read_text().splitlines()
    assert rejects, "the verbatim train prompts were among the candidates and were rejected"
    metrics = json.loads((workdir / "metrics/heldout.json").read_text())
    assert sum(metrics["tool"].values()) == len(tool)


def test_the_tool_reply_budget_holds_the_longest_call_an_item_can_expect():
    # A call cut before </tool_call> is no call: evaluate's budget of 48 tokens once scored
    # 45 of 111 due calls that way. The longest names of the held-out schemas, a long place
    # with its country, an ISO date, the closing tag and the end of turn must fit.
    from twainlora.core.tokens import load_tokenizer

    tokenizer = load_tokenizer("smollm2")
    budget = shipped_params()["evaluate"]["max_new_tokens"]["tool"]
    arguments = {
        max(P.NOVEL_LOCATION_KEYS + LOCATION_KEYS, key=len): "Sri Jayewardenepura Kotte, Sri Lanka",
        max(P.NOVEL_DATE_KEYS + DATE_KEYS, key=len): "2027-12-31",
    }
    name = max(P.NOVEL_TOOL_NAMES + phrases.TOOL_NAMES, key=len)
    call = json.dumps({"name": name, "arguments": arguments})
    tokens = len(tokenizer(f"<tool_call>{call}</tool_call><|im_end|>")["input_ids"])
    assert tokens + 8 <= budget, (tokens, budget)  # 8: room for a unit or a longer place
