"""Training throughput: the train stage's stack (accelerate + TRL SFTTrainer + PEFT) against a
bare PyTorch loop over the same LoRA model and the same batches, and against the stack as
TRL and PEFT ship it.

    python bench/train.py [--split tool] [--examples 64] [--steps 6] [--set bf16=false ...]

Each mode runs in its own process (so peak RSS is each one's own) with params.yaml `train`
(overridable with --set), on a stratified sample of data/splits/train_<split>.jsonl (run
`dvc repro split` first):

  stack  the trainer built exactly as stages/train.py builds it on CPU: padding-free packing,
         assistant-only loss, mixed precision from params, and the CPU speed-ups
         (training.speed_up_cpu_training, training.sft_trainer_class)
  bare   the stack's own dataloader (same packed micro-batches), then forward with labels,
         backward, AdamW every grad_accum micro-batches, under the same autocast
  stock  TRL's SFTTrainer and PEFT's LoRA as shipped (nn.Dropout, fp32 frozen weights, TRL's
         chunked LM head), same params and batches: what the speed-ups are measured against

The first optimizer step of each is warm-up and not counted. Prints real (non-padding)
tokens/s, the stack's share of bare, its speed-up over stock, peak RSS, and the train loss of
each step of stack and stock (the same LoRA settings: the curves must agree up to dropout
noise); writes bench/results/train.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

from twainlora.core.jsonl import write_json
from twainlora.core.params import from_dict
from twainlora.train.training import TrainParams

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "models/base"
RESULTS = ROOT / "bench/results/train.json"
MODES = ("bare", "stack", "stock")


def train_params(overrides: list[str]) -> TrainParams:
    section = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    for item in overrides:
        key, value = item.split("=", 1)
        section[key] = yaml.safe_load(value)
    return from_dict(TrainParams, section, where="params.yaml:train (with --set)")


def build(params: TrainParams, split: str, examples: int, steps: int, stock: bool = False):
    """The stage's trainer (model, data, config), limited to `steps` optimizer steps; with
    `stock`, TRL's and PEFT's own, without the CPU speed-ups."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    from twainlora.train import training

    set_seed(params.seed)
    torch.set_num_threads(params.threads)
    tokenizer = AutoTokenizer.from_pretrained(BASE)
    rows, _ = training.load_examples(
        ROOT / f"data/splits/train_{split}.jsonl",
        tokenizer,
        examples,
        params.seed,
        params.max_length,
    )
    config = training.sft_config(
        params, 1, "/tmp/twainlora-bench-train", False,
        max_steps=steps, eval_strategy="no", save_strategy="no", logging_steps=1,
        load_best_model_at_end=False,
    )  # fmt: skip
    trainer = training.sft_trainer_class(fused_lm_head=stock)(
        model=AutoModelForCausalLM.from_pretrained(BASE),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=training.lora_config(params.lora),
    )
    if not stock:
        training.speed_up_cpu_training(trainer.model, params.bf16)  # as the stage does on CPU
    return trainer


def run_stack(trainer) -> tuple[int, float, list[float]]:
    from twainlora.train.training import StepTimer

    timer = StepTimer(warmup_steps=1)
    trainer.add_callback(timer)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return timer.tokens, timer.seconds, losses


def run_bare(trainer, params: TrainParams, steps: int) -> tuple[int, float, list[float]]:
    import torch

    model = trainer.model
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=params.learning_rate
    )
    batches = iter(trainer.get_train_dataloader())
    tokens, seconds, losses = 0, 0.0, []
    for step in range(1, steps + 1):
        start, step_tokens, step_loss = time.perf_counter(), 0, 0.0
        for _ in range(params.grad_accum):
            batch = next(batches)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=params.bf16):
                loss = model(
                    input_ids=batch["input_ids"],
                    position_ids=batch["position_ids"],
                    labels=batch["labels"],
                ).loss
            (loss / params.grad_accum).backward()
            step_tokens += batch["input_ids"].numel()
            step_loss += loss.item() / params.grad_accum
        optimizer.step()
        optimizer.zero_grad()
        losses.append(step_loss)
        if step > 1:
            seconds += time.perf_counter() - start
            tokens += step_tokens
    return tokens, seconds, losses


def child(args) -> None:
    params = train_params(args.set)
    trainer = build(params, args.split, args.examples, args.steps, stock=args.mode == "stock")
    if args.mode == "bare":
        tokens, seconds, losses = run_bare(trainer, params, args.steps)
    else:
        tokens, seconds, losses = run_stack(trainer)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    losses = [round(loss, 4) for loss in losses]
    print(
        json.dumps(
            {"tokens": tokens, "seconds": seconds, "peak_rss_mb": round(rss), "losses": losses}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["style", "tool"], default="tool")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps, the first not timed")
    parser.add_argument("--set", action="append", default=[], help="a train param: key=yaml")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return child(args)

    params = train_params(args.set)
    results = {}
    for mode in MODES:
        cmd = [sys.executable, __file__, "--mode", mode, "--split", args.split]
        cmd += ["--examples", str(args.examples), "--steps", str(args.steps)]
        cmd += [a for item in args.set for a in ("--set", item)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{mode} failed:\n{out.stderr[-3000:]}")
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["tokens_per_s"] = round(run["tokens"] / run["seconds"], 1)
        results[mode] = run
        print(f"{mode:5}  {run['tokens_per_s']:7.1f} tokens/s  peak RSS {run['peak_rss_mb']} MB")
    share = results["stack"]["tokens_per_s"] / results["bare"]["tokens_per_s"]
    speed_up = results["stack"]["tokens_per_s"] / results["stock"]["tokens_per_s"]
    print(f"stack / bare = {share:.2f} (target >= 0.80); stack / stock = {speed_up:.2f}")
    print("train loss per step   stack   stock")
    for step, (ours, theirs) in enumerate(
        zip(results["stack"]["losses"], results["stock"]["losses"], strict=True), start=1
    ):
        print(f"  {step:>2}                {ours:7.4f} {theirs:7.4f}")
    write_json(
        RESULTS,
        {
            "split": args.split,
            "examples": args.examples,
            "timed_steps": args.steps - 1,
            "params": {
                k: v
                for k, v in dataclasses.asdict(params).items()
                if k in ("batch_size", "grad_accum", "max_length", "packing", "bf16", "threads")
                or k == "gradient_checkpointing"
            },
            **results,
            "stack_share_of_bare": round(share, 3),
            "stack_speed_up_over_stock": round(speed_up, 3),
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        },
    )


if __name__ == "__main__":
    main()
