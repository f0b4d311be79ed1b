"""Train one LoRA adapter on the base model: `style` (style data) or `style_tool` (continues
from the style adapter on the tool mix).

    accelerate launch --config_file configs/accelerate/single.yaml stages/train.py style
    python stages/train.py style_tool          # the same, single process, without accelerate

(dvc.yaml runs the first form with train.accelerate_config.) TRL's SFTTrainer with PEFT LoRA
on all attention and MLP projections, assistant-only loss, padding-free packing, cosine
schedule with warmup, evaluation and early stopping on eval loss, checkpoints for resuming a
killed run. All knobs in params.yaml `train`; the `cpu` profile trains on a stratified sample
of the split, `gpu` on all of it. With `quantization: nf4` it trains QLoRA, and refuses to
without CUDA. The steps live in twainlora/train/run.py. Writes:
  models/adapters/<name>/      adapter_config.json, adapter_model.safetensors, tokenizer
  metrics/train_<name>.json    base and final eval loss, train loss, loss gap, tokens/s,
                               peak memory, wall time, resolved params and library versions
  plots/train_<name>.csv       the loss curves (step, train loss, eval loss)
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from twainlora.core.jsonl import write_json
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


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if len(argv) != 1 or argv[0] not in SPLITS:
        raise SystemExit(f"usage: python stages/train.py {{{'|'.join(SPLITS)}}}")
    name = argv[0]
    params = load_params("train", Params)
    import torch

    cuda = torch.cuda.is_available()
    try:
        check_backend(params.quantization, cuda)
    except TrainingConfigError as e:
        raise SystemExit(f"train: {e}") from None
    from transformers import set_seed

    from twainlora.train import run, training

    resolved = training.resolve_precision(params, cuda)
    if resolved != params:
        log.warning("%s: no native bf16 on this machine: training in float32", name)
    params = resolved
    set_seed(params.seed)
    torch.set_num_threads(params.threads)
    train_file, eval_file, init_from = SPLITS[name]
    init_dir = ADAPTERS / init_from if init_from else None
    examples = run.load_splits(BASE, train_file, eval_file, params, name)
    inputs = [BASE, train_file, eval_file] + ([init_dir] if init_dir else [])
    run_dir = CHECKPOINTS / name / training.fingerprint({"name": name, **asdict(params)}, inputs)
    trainer, timer = run.build_trainer(
        BASE, init_dir, examples, params, params.epochs[name], run_dir, cuda
    )
    fit = run.fit(trainer, run_dir)
    run.save_adapter(trainer, examples.tokenizer, ADAPTERS / name)
    peak_gpu_mb = round(torch.cuda.max_memory_allocated() / 2**20) if cuda else None
    write_json(
        Path(f"metrics/train_{name}.json"),
        run.metrics(fit, examples, timer, params, peak_gpu_mb),
    )
    run.write_loss_curves(Path(f"plots/train_{name}.csv"), trainer.state.log_history)
    shutil.rmtree(CHECKPOINTS / name, ignore_errors=True)  # done: nothing left to resume
    log.info(
        "%s: eval loss %.4f (base %.4f), %s steps in %.0f s",
        *(name, fit.eval_loss, fit.base_eval_loss, fit.steps, fit.wall_seconds),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
