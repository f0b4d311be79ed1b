import threading
import time

import pytest
import torch

from twainlora.core.tokens import load_tokenizer
from twainlora.serve.engine import Detokenizer, FairLock, adapter_dirs, sample


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


def test_fair_lock_serves_in_arrival_order():
    lock, order = FairLock(), []
    with lock:
        threads = []
        for i in range(5):

            def take(i=i):
                with lock:
                    order.append(i)

            threads.append(threading.Thread(target=take))
            threads[-1].start()
            while lock.waiting < i + 2:  # this one has its ticket before the next starts
                time.sleep(0.001)
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4] and lock.waiting == 0


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


def test_adapter_dirs_finds_peft_folders_only(tmp_path):
    for name in ("style", "style_tool"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text("{}")
    (tmp_path / "notes").mkdir()
    assert list(adapter_dirs(tmp_path)) == ["style", "style_tool"]
    assert adapter_dirs(tmp_path / "missing") == {}
