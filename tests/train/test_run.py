"""The training run's light pieces: loss curves and the merge check's verdict."""

from twainlora.train.merge import MergeCheck
from twainlora.train.run import write_loss_curves


def test_loss_curves_keep_loss_and_eval_rows(tmp_path):
    history = [
        {"step": 5, "loss": 3.1},
        {"step": 8, "eval_loss": 3.0},
        {"step": 8, "train_runtime": 12.0},
    ]
    write_loss_curves(tmp_path / "c.csv", history)
    assert (tmp_path / "c.csv").read_text() == "step,loss,eval_loss\n5,3.1,\n8,,3.0\n"


def test_merge_check_needs_every_prompt_to_match():
    assert MergeCheck(prompts=3, greedy_matches=3, max_logit_diff=1e-5).ok
    assert not MergeCheck(prompts=3, greedy_matches=2, max_logit_diff=1e-5).ok
