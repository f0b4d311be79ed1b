"""Train one LoRA adapter on the base model: `style` (style data) or `style_tool` (continues
from the style adapter on the tool mix).

    accelerate launch --config_file configs/accelerate/cpu.yaml stages/train.py style
    python stages/train.py style_tool          # the same, single process

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
from dataclasses import asdict
from pathlib import Path

from twainlora.core.jsonl import atomic_open, write_json
from twainlora.core.params import load_params
from twainlora.train.training import TrainingConfigError, check_backend
from twainlora.train.training import TrainParams as Params

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
# Outside DVC's outs: a killed run resumes from here, when its fingerprint still matches.
CHECKPOINTS = Path(".cache/checkpoints")


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

    from twainlora.train import training
    from twainlora.train.models import library_versions

    set_seed(params.seed)
    torch.set_num_threads(params.threads)
    profile = params.profiles[params.profile]
    train_file, eval_file, init_from = SPLITS[name]
    tokenizer = AutoTokenizer.from_pretrained(BASE)
    train_rows, train_dropped = training.load_examples(
        train_file, tokenizer, profile.max_train_examples, params.seed, params.max_length
    )
    eval_rows, eval_dropped = training.load_examples(
        eval_file, tokenizer, profile.max_eval_examples, params.seed, params.max_length
    )
    train_ds, eval_ds = Dataset.from_list(train_rows), Dataset.from_list(eval_rows)
    log.info(
        "%s: %d train / %d eval examples (%d / %d longer than %d tokens left out)",
        *(name, len(train_ds), len(eval_ds), train_dropped, eval_dropped, params.max_length),
    )

    quantization = training.nf4_config() if params.quantization == "nf4" else None
    model = AutoModelForCausalLM.from_pretrained(
        BASE,
        quantization_config=quantization,
        dtype=torch.bfloat16 if params.bf16 and torch.cuda.is_available() else torch.float32,
    )
    peft_config = None
    if init_from:
        model = PeftModel.from_pretrained(model, ADAPTERS / init_from, is_trainable=True)
    else:
        peft_config = training.lora_config(params.lora)

    inputs = [BASE, train_file, eval_file] + ([ADAPTERS / init_from] if init_from else [])
    run = training.fingerprint({"name": name, **asdict(params)}, inputs)
    output_dir = CHECKPOINTS / name / run
    timer = training.StepTimer()
    trainer = training.sft_trainer_class(torch.cuda.is_available())(
        model=model,
        args=training.sft_config(
            params, params.epochs[name], output_dir, torch.cuda.is_available()
        ),
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[EarlyStoppingCallback(params.early_stopping_patience), timer],
    )
    if not torch.cuda.is_available():
        training.speed_up_cpu_training(trainer.model, params.bf16)
    with trainer.model.disable_adapter():
        base_eval = trainer.evaluate()["eval_loss"]  # the base model on the same eval data
    # Checkpoints of another fingerprint belong to other params or data: never resume those.
    for stale in (CHECKPOINTS / name).glob("*"):
        if stale.name != run:
            shutil.rmtree(stale, ignore_errors=True)
    last = training.last_checkpoint(output_dir)
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
    training.sort_target_modules(tmp / "adapter_config.json")
    tokenizer.save_pretrained(tmp)
    (tmp / "README.md").unlink(missing_ok=True)  # PEFT's model card stub: not an adapter file
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)

    state = trainer.state
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
            "steps": state.global_step,
            "best_step": state.best_global_step,
            "tokens_per_s": round(timer.tokens_per_s, 1),
            "peak_rss_mb": round(peak_rss_mb()),
            "peak_gpu_mb": (
                round(torch.cuda.max_memory_allocated() / 2**20)
                if torch.cuda.is_available()
                else None
            ),
            "wall_seconds": round(wall),
            "profile": params.profile,
            "resumed_from_step": int(last.rsplit("-", 1)[1]) if last else None,
            "params": json.loads(json.dumps(asdict(params))),
            "versions": library_versions(),
        },
    )
    with atomic_open(Path(f"plots/train_{name}.csv")) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["step", "loss", "eval_loss"])
        for entry in state.log_history:
            if "loss" in entry or "eval_loss" in entry:
                writer.writerow([entry["step"], entry.get("loss", ""), entry.get("eval_loss", "")])
    shutil.rmtree(CHECKPOINTS / name, ignore_errors=True)  # done: nothing left to resume
    log.info(
        "%s: eval loss %.4f (base %.4f), %s steps in %.0f s",
        *(name, final_eval, base_eval, state.global_step, wall),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
