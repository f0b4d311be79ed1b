import threading
from dataclasses import replace

import pytest
import torch
from live_server import make_adapters

from twainlora.core.tokens import load_tokenizer
from twainlora.core.toolcalls import tool_grammar
from twainlora.domain.weather import GET_WEATHER_TOOL
from twainlora.eval.decisions import repeats_itself
from twainlora.serve import engine as engine_module
from twainlora.serve.engine import (
    Detokenizer,
    Engine,
    EngineConfig,
    Finish,
    Sampling,
    adapter_dirs,
    penalize,
    repeated_ngram_ends,
    sample,
)

GREEDY = Sampling(max_tokens=20, temperature=0.0, top_p=1.0, seed=None)
PROMPTS = [
    "Tell me about the river.",
    "What is the weather in Hannibal tomorrow?",
    "Write one line about a rainy Tuesday.",
    "Who printed Poor Richard's Almanack?",
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("smollm2")


def released(tokenizer, text: str, stop: tuple[str, ...]) -> tuple[list[str], bool, str]:
    """Feed `text`'s tokens one at a time: (pieces released, stopped, final text)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    detok = Detokenizer(tokenizer, stop)
    pieces = []
    for n in range(1, len(ids) + 1):
        piece, stopped = detok.add(ids[:n])
        pieces.append(piece)
        if stopped:
            return pieces, True, detok.text
    pieces.append(detok.flush(ids))
    return pieces, False, detok.text


def test_detokenizer_cuts_at_the_stop_string_and_never_leaks_its_start(tokenizer):
    pieces, stopped, text = released(tokenizer, "The river is wide. THE END of it", ("THE END",))
    assert stopped and text == "The river is wide. "
    assert "".join(pieces) == text
    assert not any("THE" in p for p in pieces)


def test_detokenizer_releases_everything_without_a_stop(tokenizer):
    source = "Naïve café, 🎉 and a steamboat"
    pieces, stopped, text = released(tokenizer, source, ("<never>",))
    assert not stopped and text == source == "".join(pieces)
    # a multi-byte character split across tokens is held back, never sent half-decoded
    assert not any("\ufffd" in p for p in pieces)


def test_sample_greedy_nucleus_and_seed():
    logits = torch.tensor([1.0, 3.0, 2.0, -1.0])
    assert sample(logits, 0.0, 1.0, None) == 1
    # top_p below the top token's mass keeps only the top token
    assert {sample(logits, 1.0, 0.1, torch.Generator().manual_seed(s)) for s in range(20)} == {1}
    draws = [
        [sample(logits, 1.5, 1.0, g) for _ in range(10)]
        for g in (torch.Generator().manual_seed(7), torch.Generator().manual_seed(7))
    ]
    assert draws[0] == draws[1] and len(set(draws[0])) > 1


def test_penalize_lowers_what_was_generated_by_count_and_presence():
    logits = torch.zeros(5)
    penalize(logits, [1, 1, 3], Sampling(8, 0.0, 1.0, None, (), 0.5, 0.25))
    assert logits.tolist() == [0.0, -1.25, 0.0, -0.75, 0.0]
    untouched = torch.zeros(5)
    penalize(untouched, [1, 1, 3], GREEDY)
    penalize(untouched, [], Sampling(8, 0.0, 1.0, None, (), 0.5, 0.25))
    assert untouched.tolist() == [0.0] * 5


def test_adapter_dirs_finds_peft_folders_only(tmp_path):
    for name in ("style", "style_tool"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    assert list(adapter_dirs(tmp_path)) == ["style", "style_tool"]
    assert adapter_dirs(tmp_path / "missing") == {}


@pytest.fixture(scope="module")
def engine(base_model_dir, tmp_path_factory):
    adapters = make_adapters(base_model_dir, tmp_path_factory.mktemp("adapters"))
    # A small batch, so that rows join and leave mid-batch; a prefix cache, so that it is used.
    config = EngineConfig("float32", 1, 2048, max_batch=6, prefix_cache_tokens=4096)
    return Engine.load(base_model_dir, adapter_dirs(adapters), config)


def requests_for(engine) -> list[tuple[str, list[int], str | None]]:
    """(model, prompt ids, grammar): every model, with and without the tool grammar."""
    grammar = tool_grammar([GET_WEATHER_TOOL], "auto", False)
    out = []
    for model in engine.model_ids:
        for text in PROMPTS:
            messages = [{"role": "user", "content": text}]
            out.append((model, engine.render(messages, None), None))
            out.append((model, engine.render(messages, [GET_WEATHER_TOOL]), grammar))
    return out


def finish(events) -> Finish:
    *_, last = events
    return last


def test_batched_greedy_output_equals_one_at_a_time(engine):
    """24 requests, 3 models x with/without grammar, at most 6 decoding together (so rows
    join and leave mid-batch): each gives the tokens it gives alone."""
    requests = requests_for(engine)
    alone = [finish(engine.generate(m, ids, GREEDY, g)) for m, ids, g in requests]
    queued = [engine.generate(m, ids, GREEDY, g) for m, ids, g in requests]
    together = [finish(events) for events in queued]
    assert together == alone
    # the comparison can tell the models apart
    per_model = 2 * len(PROMPTS)
    assert (
        len({tuple(f.text for f in alone[i : i + per_model]) for i in range(0, 24, per_model)}) == 3
    )
    assert engine.waiting == 0


def test_penalties_change_text_replies_only_and_keep_batching_exact(engine):
    """The repetition guard: a penalized greedy reply without tools differs from the plain
    one, a reply under the tool grammar is left as it is, and either gives the same tokens
    in a batch as alone."""
    guarded = replace(GREEDY, frequency_penalty=1.0, presence_penalty=1.0)
    requests = requests_for(engine)[: 2 * len(PROMPTS)]  # one model, with and without tools
    plain = [finish(engine.generate(m, ids, GREEDY, g)) for m, ids, g in requests]
    alone = [finish(engine.generate(m, ids, guarded, g)) for m, ids, g in requests]
    queued = [engine.generate(m, ids, guarded, g) for m, ids, g in requests]
    assert [finish(events) for events in queued] == alone
    text_rows = [i for i, (_, _, g) in enumerate(requests) if g is None]
    tool_rows = [i for i, (_, _, g) in enumerate(requests) if g is not None]
    assert [alone[i] for i in tool_rows] == [plain[i] for i in tool_rows]
    assert any(alone[i].text != plain[i].text for i in text_rows)


def test_repeated_ngram_ends_are_the_tokens_that_would_repeat_a_run():
    ids = [5, 6, 7, 8, 5, 6, 7]
    assert repeated_ngram_ends(ids, 4) == [8]  # 5 6 7 8 again
    assert repeated_ngram_ends(ids, 3) == [8]  # 6 7 8 again
    assert repeated_ngram_ends(ids, 5) == []  # 8 5 6 7 _ was never followed
    assert repeated_ngram_ends([1, 2, 1, 3, 1], 2) == [2, 3]
    assert repeated_ngram_ends(ids, 0) == [] and repeated_ngram_ends([5], 2) == []


def test_no_repeat_ngram_size_breaks_a_loop_and_leaves_tool_calls_alone(engine):
    """The base model's greedy reply to this request loops (a 4-word run three times: the
    evaluate stage's degeneration measure); with the guard it does not, in a batch as
    alone, and replies under the tool grammar are untouched."""
    loose = replace(GREEDY, max_tokens=80)
    guarded = replace(loose, no_repeat_ngram_size=3)
    looping = engine.render([{"role": "user", "content": "Repeat after me: la la la."}], None)
    assert repeats_itself(finish(engine.generate("base", looping, loose)).text)
    requests = [("base", looping, None), *requests_for(engine)[: 2 * len(PROMPTS)]]
    alone = [finish(engine.generate(m, ids, guarded, g)) for m, ids, g in requests]
    queued = [engine.generate(m, ids, guarded, g) for m, ids, g in requests]
    assert [finish(events) for events in queued] == alone
    assert not repeats_itself(alone[0].text)
    for (m, ids, g), guarded_reply in zip(requests, alone, strict=True):
        if g is not None:
            assert guarded_reply == finish(engine.generate(m, ids, loose, g))


def test_seeded_sampling_does_not_depend_on_the_batch(engine):
    sampling = Sampling(max_tokens=16, temperature=1.0, top_p=0.9, seed=11)
    model, ids, _ = requests_for(engine)[2 * len(PROMPTS)]
    alone = finish(engine.generate(model, ids, sampling))
    others = [engine.generate(m, i, GREEDY, g) for m, i, g in requests_for(engine)[:5]]
    together = finish(engine.generate(model, ids, sampling))
    for events in others:
        finish(events)
    assert together == alone


def test_a_cancelled_request_leaves_the_others_untouched(engine):
    requests = requests_for(engine)[:6]
    alone = [finish(engine.generate(m, ids, GREEDY, g)) for m, ids, g in requests]
    cancel = threading.Event()
    queued = [
        engine.generate(m, ids, GREEDY, g, cancel if i == 2 else None)
        for i, (m, ids, g) in enumerate(requests)
    ]
    next(queued[2])  # the cancelled one is decoding with the others
    cancel.set()
    results = [finish(events) for events in queued]
    assert results[2].reason == "cancelled" and results[2].completion_tokens < 20
    assert [r for i, r in enumerate(results) if i != 2] == alone[:2] + alone[3:]


def test_a_failing_request_fails_alone(engine, monkeypatch):
    """A request whose decoding raises gets the error; the requests batched with it finish
    as they would alone and the engine keeps serving."""
    requests = requests_for(engine)[:4]
    alone = [finish(engine.generate(m, ids, GREEDY, g)) for m, ids, g in requests]

    class Failing(Detokenizer):
        def add(self, ids):
            if "FAIL" in self.stop and len(ids) == 3:
                raise RuntimeError("injected failure")
            return super().add(ids)

    monkeypatch.setattr(engine_module, "Detokenizer", Failing)
    failing = Sampling(max_tokens=20, temperature=0.0, top_p=1.0, seed=None, stop=("FAIL",))
    queued = [engine.generate(m, ids, GREEDY, g) for m, ids, g in requests]
    model, ids, _ = requests[0]
    doomed = engine.generate(model, ids, failing)
    with pytest.raises(RuntimeError, match="injected failure"):
        finish(doomed)
    assert [finish(events) for events in queued] == alone
    assert finish(engine.generate(*requests[0][:2], GREEDY)) == alone[0]


def test_bad_requests_raise_before_queueing(engine):
    ids = engine.render([{"role": "user", "content": "hi"}], None)
    with pytest.raises(KeyError):
        engine.generate("nope", ids, GREEDY)
    with pytest.raises(engine_module.PromptTooLong):
        engine.generate("base", ids * 1000, GREEDY)
    with pytest.raises(ValueError):
        engine.generate("base", ids, GREEDY, grammar="start: <nonsense")
    assert engine.waiting == 0
