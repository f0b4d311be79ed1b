"""Base model helpers that need no model: the shipped chat template, the folder swap."""

import pytest

from twainlora.train import models


def test_the_shipped_chat_template_is_found():
    assert "tool_call" in models.load_chat_template("chatml_tools.jinja")


def test_an_unknown_template_names_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match="chatml_tools.jinja"):
        models.load_chat_template("nope.jinja")


def test_replaced_folder_swaps_in_only_a_finished_folder(tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "old").write_text("old")
    with pytest.raises(RuntimeError), models.replaced_folder(out) as tmp:
        tmp.mkdir()  # save_pretrained makes it
        (tmp / "half").write_text("half")
        raise RuntimeError("killed")
    assert [p.name for p in out.iterdir()] == ["old"]
    with models.replaced_folder(out) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"]
    assert not (tmp_path / "model.tmp").exists()
