"""One adapter's training run, in the order stages/train.py calls it: the split's examples, the
model and its trainer, evaluation of the base model, training (resumed from a checkpoint of
the same fingerprint), the adapter folder, and the metrics and loss curves.

The order of the calls is part of the result: set_seed comes first (the stage), then the model
load and the trainer (which draws the LoRA init), the CPU speed-ups, the base evaluation and
training, so the same params and data give a byte-identical adapter.
"""

from __future__ import annotations

import csv
import json
import logging
import resource
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from twainlora.core import toolcalls
from twainlora.core.jsonl import atomic_open
from twainlora.train import training
from twainlora.train.models import library_versions, replaced_folder
from twainlora.train.training import TrainParams

log = logging.getLogger(__name__)


@dataclass
class Examples:
    tokenizer: object
    train: object  # datasets.Dataset of input_ids + completion_mask
    eval: object


@dataclass(frozen=True)
class Fit:
    base_eval_loss: float  # the base model (adapter disabled) on the same eval data
    eval_loss: float
    train_loss: float
    steps: int
    best_step: int | None
    wall_seconds: float
    resumed_from: str | None  # the checkpoint the run resumed from


def load_splits(base: Path, train_file: Path, eval_file: Path, params: TrainParams, name: str):
    """The tokenizer and the encoded train and eval examples (a stratified sample of each
    split in the cpu/smoke profiles)."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    profile = params.profiles[params.profile]
    tokenizer = AutoTokenizer.from_pretrained(base)
    train_rows, train_dropped = training.load_examples(
        train_file, tokenizer, profile.max_train_examples, params.seed, params.max_length
    )
    eval_rows, eval_dropped = training.load_examples(
        eval_file, tokenizer, profile.max_eval_examples, params.seed, params.max_length
    )
    examples = Examples(tokenizer, Dataset.from_list(train_rows), Dataset.from_list(eval_rows))
    log.info(
        "%s: %d train / %d eval examples (%d / %d longer than %d tokens left out)",
        *(name, len(examples.train), len(examples.eval), train_dropped, eval_dropped),
        params.max_length,
    )
    return examples


def build_trainer(
    base: Path,
    init_from: Path | None,
    examples: Examples,
    params: TrainParams,
    epochs: float,
    output_dir: Path,
    cuda: bool,
):
    """The SFT trainer of a new LoRA adapter on the base model, or of the adapter at init_from
    trained further; on CPU with the speed-ups (MaskDropout, bf16 frozen weights, the model's
    own loss). Returns the trainer and its StepTimer."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, EarlyStoppingCallback

    quantization = training.nf4_config() if params.quantization == "nf4" else None
    model = AutoModelForCausalLM.from_pretrained(
        base,
        quantization_config=quantization,
        dtype=torch.bfloat16 if params.bf16 and cuda else torch.float32,
    )
    peft_config = None
    if init_from:
        model = PeftModel.from_pretrained(model, init_from, is_trainable=True)
    else:
        peft_config = training.lora_config(params.lora)
    timer = training.StepTimer()
    # On CUDA TRL's fused LM head saves memory; on CPU it cost ~35% of a step.
    trainer = training.sft_trainer_class(
        fused_lm_head=cuda,
        decision_weight=params.decision_weight,
        call_weight=params.call_weight,
        call_opener=examples.tokenizer(toolcalls.OPEN, add_special_tokens=False).input_ids,
    )(
        model=model,
        args=training.sft_config(params, epochs, output_dir, cuda),
        train_dataset=examples.train,
        eval_dataset=examples.eval,
        processing_class=examples.tokenizer,
        peft_config=peft_config,
        callbacks=[EarlyStoppingCallback(params.early_stopping_patience), timer],
    )
    if not cuda:
        training.speed_up_cpu_training(trainer.model, params.bf16)
    return trainer, timer


def fit(trainer, run_dir: Path) -> Fit:
    """Evaluate the base model, train (resuming from run_dir's last complete checkpoint), and
    evaluate the adapter. Checkpoints of other runs beside run_dir are removed first: another
    fingerprint means other params or data, never to be resumed."""
    with trainer.model.disable_adapter():
        base_eval = trainer.evaluate()["eval_loss"]
    for stale in run_dir.parent.glob("*"):
        if stale.name != run_dir.name:
            shutil.rmtree(stale, ignore_errors=True)
    last = training.last_checkpoint(run_dir)
    if last:
        log.info("resuming from %s", last)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    wall = time.perf_counter() - start
    final_eval = trainer.evaluate()["eval_loss"]
    state = trainer.state
    return Fit(
        base_eval, final_eval, result.training_loss, state.global_step,
        state.best_global_step, wall, last,
    )  # fmt: skip


def save_adapter(trainer, tokenizer, out: Path) -> None:
    """The adapter folder: adapter_config.json (target_modules sorted), the weights, the
    tokenizer."""
    with replaced_folder(out) as tmp:
        trainer.model.save_pretrained(tmp)
        training.sort_target_modules(tmp / "adapter_config.json")
        tokenizer.save_pretrained(tmp)
        (tmp / "README.md").unlink(missing_ok=True)  # PEFT's model card stub: not adapter


def metrics(
    fit: Fit, examples: Examples, timer, params: TrainParams, peak_gpu_mb: int | None
) -> dict:
    """metrics/train_<name>.json: losses, sizes, speed and memory, the resolved params and the
    library versions."""
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "base_eval_loss": round(fit.base_eval_loss, 4),
        "eval_loss": round(fit.eval_loss, 4),
        "train_loss": round(fit.train_loss, 4),
        "loss_gap": round(fit.eval_loss - fit.train_loss, 4),
        "train_examples": len(examples.train),
        "eval_examples": len(examples.eval),
        "steps": fit.steps,
        "best_step": fit.best_step,
        "tokens_per_s": round(timer.tokens_per_s, 1),
        "peak_rss_mb": round(peak_rss_mb),
        "peak_gpu_mb": peak_gpu_mb,
        "wall_seconds": round(fit.wall_seconds),
        "profile": params.profile,
        "resumed_from_step": int(fit.resumed_from.rsplit("-", 1)[1]) if fit.resumed_from else None,
        "params": json.loads(json.dumps(asdict(params))),
        "versions": library_versions(),
    }


def write_loss_curves(path: Path, log_history: list[dict]) -> None:
    """plots/train_<name>.csv: step, train loss, eval loss (one of them empty per row)."""
    with atomic_open(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["step", "loss", "eval_loss"])
        for entry in log_history:
            if "loss" in entry or "eval_loss" in entry:
                writer.writerow([entry["step"], entry.get("loss", ""), entry.get("eval_loss", "")])
