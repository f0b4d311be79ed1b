"""Train one LoRA adapter on the base model: `style` (style data) or `style_tool` (continues
from the style adapter on the tool mix).

    python stages/train.py style
    python stages/train.py style_tool

TRL's SFTTrainer with PEFT LoRA on all attention and MLP projections, assistant-only loss,
padding-free packing, cosine schedule with warmup, evaluation and early stopping on eval
loss, checkpoints for resuming a killed run. All knobs in params.yaml `train`; the `cpu`
profile trains on a stratified sample of the split, `gpu` on all of it. With
`quantization: nf4` it trains QLoRA, and refuses to without CUDA. Writes:
  models/adapters/<name>/      adapter_config.json, adapter_model.safetensors, tokenizer
  metrics/train_<name>.json    base and final eval loss, train loss, loss gap, tokens/s,
                               peak memory, wall time, resolved params and library versions
  plots/train_<name>.csv       the loss curves (step, train loss, eval loss)
"""

from __future__ import annotations

import csv
import json
import logging
import resource
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from twainlora.jsonl import atomic_open, read_jsonl, write_json
from twainlora.params import load_params
from twainlora.training import LoraParams, TrainingConfigError, check_backend

log = logging.getLogger("train")

BASE = Path("models/base")
SPLITS = {
    "style": (Path("data/splits/train_style.jsonl"), Path("data/splits/eval_style.jsonl"), None),
    "style_tool": (
        Path("data/splits/train_tool.jsonl"),
        Path("data/splits/eval_tool.jsonl"),
        "style",
    ),
}
ADAPTERS = Path("models/adapters")
CHECKPOINTS = Path(".cache/checkpoints")  # outside DVC's outs: a killed run resumes from here


@dataclass(frozen=True)
class Profile:
    max_train_examples: int | None  # None: the whole split
    max_eval_examples: int | None


@dataclass(frozen=True)
class Params:
    profile: str
    profiles: dict[str, Profile]
    quantization: str  # none | nf4 (QLoRA, CUDA only)
    lora: LoraParams
    epochs: dict[str, float]
    learning_rate: float
    lr_scheduler: str
    warmup: float  # a share of the steps
    batch_size: int
    grad_accum: int
    max_length: int
    packing: bool
    gradient_checkpointing: bool
    bf16: bool
    eval_steps: int
    early_stopping_patience: int
    logging_steps: int
    threads: int
    seed: int

    def __post_init__(self):
        if self.profile not in self.profiles:
            raise ValueError(f"profile {self.profile!r} is not among {sorted(self.profiles)}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if len(argv) != 1 or argv[0] not in SPLITS:
        raise SystemExit(f"usage: python stages/train.py {{{'|'.join(SPLITS)}}}")
    name = argv[0]
    params = load_params("train", Params)
    import torch

    try:
        check_backend(params.quantization, torch.cuda.is_available())
    except TrainingConfigError as e:
        raise SystemExit(f"train: {e}") from None
    from datasets import Dataset
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, EarlyStoppingCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    from twainlora import training
    from twainlora.models import library_versions

    set_seed(params.seed)
    torch.set_num_threads(params.threads)
    profile = params.profiles[params.profile]
    train_file, eval_file, init_from = SPLITS[name]
    tokenizer = AutoTokenizer.from_pretrained(BASE)

    def dataset(path: Path, n: int | None) -> tuple[Dataset, int]:
        rows = training.sample_stratified(list(read_jsonl(path)), n, params.seed)
        encoded = [e for e in (training.encode(tokenizer, r, params.max_length) for r in rows) if e]
        return Dataset.from_list(encoded), len(rows) - len(encoded)

    train_ds, train_dropped = dataset(train_file, profile.max_train_examples)
    eval_ds, eval_dropped = dataset(eval_file, profile.max_eval_examples)
    log.info(
        "%s: %d train / %d eval examples (%d / %d longer than %d tokens left out)",
        name,
        len(train_ds),
        len(eval_ds),
        train_dropped,
        eval_dropped,
        params.max_length,
    )

    quantization = training.nf4_config() if params.quantization == "nf4" else None
    model = AutoModelForCausalLM.from_pretrained(
        BASE,
        quantization_config=quantization,
        dtype=torch.bfloat16 if params.bf16 else torch.float32,
    )
    peft_config = None
    if init_from:
        model = PeftModel.from_pretrained(model, ADAPTERS / init_from, is_trainable=True)
    else:
        peft_config = training.lora_config(params.lora)

    output_dir = CHECKPOINTS / name
    config = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=params.epochs[name],
        per_device_train_batch_size=params.batch_size,
        per_device_eval_batch_size=params.batch_size,
        gradient_accumulation_steps=params.grad_accum,
        learning_rate=params.learning_rate,
        lr_scheduler_type=params.lr_scheduler,
        warmup_steps=params.warmup,
        max_length=params.max_length,
        packing=params.packing,
        completion_only_loss=True,
        gradient_checkpointing=params.gradient_checkpointing,
        bf16=params.bf16,
        eval_strategy="steps",
        eval_steps=params.eval_steps,
        save_strategy="steps",
        save_steps=params.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=params.logging_steps,
        report_to=[],
        seed=params.seed,
        data_seed=params.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[EarlyStoppingCallback(params.early_stopping_patience)],
    )
    with trainer.model.disable_adapter():
        base_eval = trainer.evaluate()["eval_loss"]  # the base model on the same eval data
    last = None
    if output_dir.exists():
        checkpoints = sorted(
            output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])
        )
        last = str(checkpoints[-1]) if checkpoints else None
    if last:
        log.info("resuming from %s", last)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    wall = time.perf_counter() - start
    final_eval = trainer.evaluate()["eval_loss"]

    out = ADAPTERS / name
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "README.md").unlink(missing_ok=True)  # PEFT's model card stub: not an adapter file
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)

    history = trainer.state.log_history
    trained_tokens = sum(sum(m) for m in train_ds["completion_mask"]) * params.epochs[name]
    seen_tokens = sum(len(x) for x in train_ds["input_ids"]) * params.epochs[name]
    train_loss = result.training_loss
    write_json(
        Path(f"metrics/train_{name}.json"),
        {
            "base_eval_loss": round(base_eval, 4),
            "eval_loss": round(final_eval, 4),
            "train_loss": round(train_loss, 4),
            "loss_gap": round(final_eval - train_loss, 4),
            "train_examples": len(train_ds),
            "eval_examples": len(eval_ds),
            "steps": trainer.state.global_step,
            "tokens_per_s": round(seen_tokens / wall, 1),
            "assistant_tokens_per_s": round(trained_tokens / wall, 1),
            "peak_rss_mb": round(peak_rss_mb()),
            "wall_seconds": round(wall),
            "profile": params.profile,
            "resumed_from": last,
            "params": json.loads(json.dumps(asdict(params))),
            "versions": library_versions(),
        },
    )
    with atomic_open(Path(f"plots/train_{name}.csv")) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["step", "loss", "eval_loss"])
        for entry in history:
            if "loss" in entry or "eval_loss" in entry:
                writer.writerow([entry["step"], entry.get("loss", ""), entry.get("eval_loss", "")])
    shutil.rmtree(output_dir, ignore_errors=True)  # done: nothing left to resume
    log.info(
        "%s: eval loss %.4f (base %.4f), %s steps in %.0f s",
        name,
        final_eval,
        base_eval,
        trainer.state.global_step,
        wall,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
