"""twainlora/train/training.py's CPU speed-ups keep the math: the cheaper LoRA dropout is dropout with
the same p, bf16-stored frozen weights change no autocast result, and the CPU trainer's loss is
TRL's loss on the same batch (real SmolLM2 + LoRA)."""

import pytest
import torch

from twainlora.core.params import from_dict
from twainlora.train import training

from conftest import shipped_params


def test_mask_dropout_drops_a_share_p_and_scales_the_rest():
    torch.manual_seed(0)
    dropout = training.MaskDropout(0.05)
    x = torch.rand(1000, 1000) + 1.0  # no zeros of its own
    y = dropout(x)
    dropped = y == 0
    assert abs(dropped.float().mean().item() - 0.05) < 0.002
    assert torch.allclose(y[~dropped], x[~dropped] / 0.95)


def test_mask_dropout_gradient_is_its_mask():
    torch.manual_seed(1)
    x = torch.randn(64, 48, requires_grad=True)
    y = training.MaskDropout(0.3)(x)
    y.sum().backward()
    expected = (y != 0).float() / 0.7
    assert torch.allclose(x.grad, expected)


def test_mask_dropout_is_seeded_off_in_eval_and_casts_under_autocast():
    dropout = training.MaskDropout(0.1)
    x = torch.randn(32, 32)
    torch.manual_seed(7)
    first = dropout(x)
    torch.manual_seed(7)
    assert torch.equal(first, dropout(x))
    assert not torch.equal(first, dropout(x))  # a new mask each call
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert dropout(x).dtype == torch.bfloat16
    dropout.eval()
    assert dropout(x) is x
    with pytest.raises(ValueError, match="dropout"):
        training.MaskDropout(1.0)


@pytest.fixture(scope="module")
def lora_model(base_model_dir):
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_model_dir)
    lora = from_dict(
        training.LoraParams,
        {"r": 4, "alpha": 8, "dropout": 0.05, "target_modules": ["q_proj", "down_proj"]},
        where="test",
    )
    model = get_peft_model(model, training.lora_config(lora))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # PEFT starts B at zero: make the adapter count
            torch.nn.init.normal_(param, std=0.02)
    return model


@pytest.mark.slow
def test_cpu_speed_up_keeps_autocast_outputs_and_trainable_weights(lora_model):
    ids = torch.tensor([[1, 504, 3458, 314, 260, 6561, 30, 2]])
    lora_model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = lora_model(input_ids=ids).logits
    training.speed_up_cpu_training(lora_model, bf16=True)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        after = lora_model(input_ids=ids).logits
    assert torch.equal(before, after)

    dropouts = [
        d
        for m in lora_model.modules()
        if hasattr(m, "lora_dropout")
        for d in m.lora_dropout.values()
    ]
    assert dropouts and all(isinstance(d, training.MaskDropout) and d.p == 0.05 for d in dropouts)
    embedding = lora_model.get_input_embeddings().weight
    assert embedding.dtype == torch.float32
    for name, param in lora_model.named_parameters():
        if param.requires_grad:
            assert "lora_" in name and param.dtype == torch.float32, name
        elif param.ndim == 2 and "proj" in name:
            assert param.dtype == torch.bfloat16, name


def tiny_trainer(base_model_dir, out, messages, **trainer_class):
    """A real SmolLM2 SFT trainer on two copies of one conversation (batch 2, no
    accumulation, float32), built by training.sft_trainer_class(**trainer_class)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    rows = Dataset.from_list([training.encode(tokenizer, {"messages": messages}, 256)] * 2)
    section = {**shipped_params()["train"], "batch_size": 2, "grad_accum": 1, "bf16": False}
    params = from_dict(training.TrainParams, section, where="test")
    return training.sft_trainer_class(**trainer_class)(
        model=AutoModelForCausalLM.from_pretrained(base_model_dir),
        args=training.sft_config(params, 1, out, False),
        train_dataset=rows,
        eval_dataset=rows,
        processing_class=tokenizer,
    )


@pytest.mark.slow
def test_cpu_trainer_loss_is_trls_loss(base_model_dir, tmp_path):
    messages = [
        {"role": "user", "content": "Is it raining in Hannibal?"},
        {"role": "assistant", "content": "Only on the days it is not dry, which is most."},
    ]
    losses = []
    for fused in (True, False):  # True: TRL's own SFTTrainer (fused LM head), run here on CPU
        trainer = tiny_trainer(base_model_dir, tmp_path / str(fused), messages, fused_lm_head=fused)
        losses.append(trainer.evaluate()["eval_loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_decision_tokens_are_the_first_of_each_trained_run():
    labels = torch.tensor([[-100, 5, 6, -100, -100, 7, -100, 8], [9, 9, -100, 9, 9, 9, 9, -100]])
    assert training.decision_tokens(labels).int().tolist() == [
        [0, 1, 0, 0, 0, 1, 0, 1],
        [1, 0, 0, 1, 0, 0, 0, 0],
    ]


def test_weighted_loss_counts_each_decision_token_weight_times():
    torch.manual_seed(0)
    logits = torch.randn(1, 8, 11)
    labels = torch.tensor([[-100, -100, 3, 4, -100, 5, 6, 7]])
    targets = labels[0, 1:]  # the decisions: 3 (index 1) and 5 (index 4)
    ce = torch.nn.functional.cross_entropy(
        logits[0, :-1], targets, ignore_index=-100, reduction="none"
    )
    plain = torch.nn.functional.cross_entropy(logits[0, :-1], targets, ignore_index=-100)
    assert training.weighted_loss(logits, labels, 1.0, None) == pytest.approx(plain.item())
    expected = (ce.sum() + 3 * (ce[1] + ce[4])) / 5
    assert training.weighted_loss(logits, labels, 4.0, 5) == pytest.approx(expected.item())


def test_call_tokens_are_the_turns_that_open_with_the_call_opener():
    # two turns in one packed row: a call (opener 7, 8) and a reply in words that starts with 7
    labels = torch.tensor([[-100, 7, 8, 5, 6, -100, -100, 7, 9, 5, -100]])
    assert training.call_tokens(labels, (7, 8)).int().tolist() == [
        [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    ]
    assert not training.call_tokens(labels[:, 5:], (7, 8)).any()


def test_weighted_loss_counts_a_calls_other_tokens_call_weight_times():
    torch.manual_seed(0)
    logits = torch.randn(1, 8, 12)
    labels = torch.tensor([[-100, 7, 8, 5, -100, 3, 4, 2]])  # targets: 7 8 5 -100 3 4 2
    ce = torch.nn.functional.cross_entropy(
        logits[0, :-1], labels[0, 1:], ignore_index=-100, reduction="none"
    )
    # the call's first token counts 4 times, its other two 2 times; the reply's first 4 times
    expected = (4 * ce[0] + 2 * (ce[1] + ce[2]) + 4 * ce[4] + ce[5] + ce[6]) / 6
    loss = training.weighted_loss(logits, labels, 4.0, 6, call_weight=2.0, call_opener=(7, 8))
    assert loss == pytest.approx(expected.item())


@pytest.mark.slow
def test_decision_weight_changes_the_training_loss_only(base_model_dir, tmp_path):
    messages = [
        {"role": "user", "content": "Will it rain?"},
        {"role": "assistant", "content": "Where, friend? Name the town."},
        {"role": "user", "content": "Hannibal."},
        {"role": "assistant", "content": "Then bring a hat."},
    ]
    trainer = tiny_trainer(
        base_model_dir, tmp_path, messages, fused_lm_head=False, decision_weight=3.0
    )
    model = trainer.model
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["labels"]
    assert int(training.decision_tokens(labels).sum()) == 4  # two turns in each of two rows
    with torch.no_grad():
        model.train()  # no dropout in the bare model: the same logits in both modes
        weighted = trainer.compute_loss(model, batch)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        model.eval()
        plain = trainer.compute_loss(model, batch)
    assert weighted == pytest.approx(training.weighted_loss(logits, labels, 3.0, None).item())
    assert plain == pytest.approx(training.weighted_loss(logits, labels, 1.0, None).item())
    assert weighted > plain


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "bf16"),
    [(False, False, False), (True, False, True), (False, True, True)],
)
def test_bf16_only_where_the_cpu_has_it(monkeypatch, avx512_bf16, amx, bf16):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    params = from_dict(training.TrainParams, shipped_params()["train"], where="train")
    assert params.bf16
    assert training.resolve_precision(params, cuda=False).bf16 is bf16
    off = from_dict(training.TrainParams, {**shipped_params()["train"], "bf16": False}, "train")
    assert training.resolve_precision(off, cuda=False).bf16 is False
