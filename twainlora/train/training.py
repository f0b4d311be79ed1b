"""LoRA/QLoRA fine-tuning pieces: backend checks, example encoding with the assistant-only
mask, stratified sampling for the CPU profile, and the PEFT/bitsandbytes configs.

Examples are tokenized here with the base model's chat template (twainlora/templates) and
handed to TRL pre-tokenized, with the template's assistant mask as TRL's `completion_mask`:
TRL then trains on exactly the assistant tokens (tool calls included, tool results not),
with padding-free packing whose position_ids keep packed examples from attending to each
other. Tokenizing ourselves also keeps the varied tool schemas out of an Arrow table, where
their differing keys would be unified into null-filled structs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from transformers import TrainerCallback

from twainlora.core.seeded import seeded_order

QLORA_ON_CPU = (
    "quantization: nf4 needs CUDA: bitsandbytes' 4-bit backward has no CPU autograd kernel, so "
    "training would run with silently wrong gradients (see ../shared/notes/cpu-lora-measurements.md). "
    "Set train.quantization: none to train LoRA in full precision here, or run on a GPU machine."
)


class TrainingConfigError(ValueError):
    pass


@dataclass(frozen=True)
class LoraParams:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass(frozen=True)
class Profile:
    max_train_examples: int | None  # None: the whole split
    max_eval_examples: int | None


@dataclass(frozen=True)
class TrainParams:
    """params.yaml `train`."""

    profile: str
    profiles: dict[str, Profile]
    quantization: str  # none | nf4 (QLoRA, CUDA only)
    accelerate_config: str  # read by dvc.yaml's `accelerate launch`
    lora: LoraParams
    epochs: dict[str, float]
    learning_rate: float
    lr_scheduler: str
    warmup: float  # a share of the steps
    batch_size: int
    grad_accum: int
    max_length: int
    packing: bool
    # The first token of every assistant turn is its decision (open a tool call, or say
    # something): its loss counts this many times. 1: plain cross-entropy.
    decision_weight: float
    # The other tokens of an assistant turn that opens a tool call (name, argument names and
    # values: the place copied, the date worked out): their loss counts this many times.
    call_weight: float
    gradient_checkpointing: bool
    bf16: bool
    eval_steps: float  # below 1: a share of the run's optimizer steps
    early_stopping_patience: int
    logging_steps: int
    threads: int
    seed: int

    def __post_init__(self):
        if self.profile not in self.profiles:
            raise ValueError(f"profile {self.profile!r} is not among {sorted(self.profiles)}")
        if self.decision_weight < 1:
            raise ValueError("decision_weight must be >= 1")
        if self.call_weight < 1:
            raise ValueError("call_weight must be >= 1")


def check_backend(quantization: str, cuda_available: bool) -> None:
    """Refuse, before the data and the model load, a setting this machine cannot train
    correctly."""
    if quantization not in ("none", "nf4"):
        raise TrainingConfigError(f"quantization must be 'none' or 'nf4', not {quantization!r}")
    if quantization == "nf4" and not cuda_available:
        raise TrainingConfigError(QLORA_ON_CPU)


def native_bf16(cuda: bool) -> bool:
    """Whether this machine computes in bf16 natively: a CUDA GPU that supports it, or a CPU with
    AVX-512 BF16 or AMX. Elsewhere (AVX2-only CPUs) torch emulates bf16 matmuls, and a bf16
    autocast backward ran tens of times slower than float32 (a 6-step test run: >3 min vs
    seconds)."""
    if cuda:
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve_precision(params: TrainParams, cuda: bool) -> TrainParams:
    """params with bf16 switched off where the machine has no native bf16 (see native_bf16): the
    run is then float32 and its metrics' resolved params say so."""
    if params.bf16 and not native_bf16(cuda):
        return replace(params, bf16=False)
    return params


def encode(tokenizer, record: dict, max_length: int) -> dict | None:
    """input_ids and completion_mask (1 on assistant tokens) for one conversation; None when
    it does not fit max_length (cutting it would train on a truncated answer)."""
    out = tokenizer.apply_chat_template(
        record["messages"],
        tools=record.get("tools") or None,
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if len(ids) > max_length or not any(mask):
        return None
    return {"input_ids": ids, "completion_mask": mask}


def load_examples(path, tokenizer, n: int | None, seed: int, max_length: int):
    """The encoded examples of a split (a stratified sample of n when n is set), and how
    many were left out for not fitting max_length."""
    from twainlora.core.jsonl import read_jsonl

    rows = sample_stratified(list(read_jsonl(path)), n, seed)
    encoded = [e for e in (encode(tokenizer, r, max_length) for r in rows) if e]
    return encoded, len(rows) - len(encoded)


def sample_stratified(records: Sequence[dict], n: int | None, seed: int) -> list[dict]:
    """n records keeping each template's (and tool case's) share; all of them when n is None."""
    if n is None or n >= len(records):
        return list(records)
    strata: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        strata[r["tags"].get("case", r["tags"]["template"])].append(r)

    chosen = []
    for name in sorted(strata):
        group = seeded_order(strata[name], seed, key=lambda r: r["id"])
        chosen += group[: max(1, round(n * len(group) / len(records)))]
    return sorted(seeded_order(chosen, seed, key=lambda r: r["id"])[:n], key=lambda r: r["id"])


def fingerprint(settings: dict, files: Sequence) -> str:
    """A short digest of a run's settings and input files: checkpoints are only resumed by a
    run with the same fingerprint (a changed param or split starts over)."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in files:
        for f in sorted(p for p in (path.rglob("*") if path.is_dir() else [path]) if p.is_file()):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def last_checkpoint(run_dir) -> str | None:
    """The newest complete `checkpoint-N` in run_dir (the Trainer writes trainer_state.json
    last, so a checkpoint cut off by a kill lacks it and is skipped)."""
    done = [p for p in run_dir.glob("checkpoint-*") if (p / "trainer_state.json").exists()]
    return str(max(done, key=lambda p: int(p.name.split("-")[1]))) if done else None


class StepTimer(TrainerCallback):
    """Times the optimizer steps alone (evaluation and checkpointing excluded), so tokens/s
    measures training and compares with a bare loop. The first `warmup_steps` of a run are
    not counted."""

    def __init__(self, warmup_steps: int = 0):
        self.warmup_steps = warmup_steps
        self.seconds = 0.0
        self.tokens = 0
        self._steps = 0
        self._start = 0.0
        self._tokens_at_start = 0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start, self._tokens_at_start = time.perf_counter(), state.num_input_tokens_seen

    def on_step_end(self, args, state, control, **kwargs):
        self._steps += 1
        if self._steps > self.warmup_steps:
            self.seconds += time.perf_counter() - self._start
            self.tokens += state.num_input_tokens_seen - self._tokens_at_start

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def sft_config(params: TrainParams, epochs: float, output_dir, cuda: bool, **overrides):
    """TRL's SFTConfig from params: assistant-only loss on our pre-tokenized completion_mask,
    padding-free packing, evaluation + checkpoints every eval_steps, best model at the end."""
    from trl import SFTConfig

    settings = dict(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
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
        include_num_input_tokens_seen="non_padding",
        report_to=[],
        seed=params.seed,
        data_seed=params.seed,
        use_cpu=not cuda,
        dataloader_num_workers=0,
    )
    return SFTConfig(**{**settings, **overrides})


def lora_config(params: LoraParams):
    from peft import LoraConfig

    return LoraConfig(
        r=params.r,
        lora_alpha=params.alpha,
        lora_dropout=params.dropout,
        target_modules=list(params.target_modules),
        task_type="CAUSAL_LM",
    )


def nf4_config():
    """QLoRA's quantization: NF4 weights, double quantization, bf16 compute (CUDA only)."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


class MaskDropout(torch.nn.Module):
    """Inverted dropout, as PEFT's LoRA dropout (`lora_B(lora_A(dropout(x)))`), at a fraction
    of torch's CPU cost: the keep mask comes from 16-bit slices of 64-bit draws of the same
    seeded generator (four per draw; torch's `bernoulli_` draws one float per element), with p
    rounded to a multiple of 1/65536. Under autocast the output is already in the autocast
    dtype, which `lora_A` would cast it to anyway. Measured: PEFT's dropout at p=0.05 cost
    ~40% of a CPU training step (218 -> 353 tokens/s without it); this keeps most of that."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p
        self.threshold = round(p * 65536) - 32768  # int16 slices below it are dropped

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        device = x.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
        n = x.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
        bits.random_(-(2**63), None)  # all 64 bits uniform
        keep = bits.view(torch.int16)[:n].view(x.shape) >= self.threshold
        return x.to(dtype) * keep.to(dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def speed_up_cpu_training(model, bf16: bool) -> None:
    """Two changes that leave the LoRA settings and the math as they are, for training on CPU:
    PEFT's LoRA dropouts become MaskDropout (same p); with bf16 autocast, the frozen Linear
    weights are stored in bf16, which autocast casts them to before every matmul anyway
    (the copies were ~10% of a step). The embedding (tied to the LM head here), the norms and
    the LoRA weights stay fp32. Measured on this 2-core CPU: 218 -> ~310 tokens/s."""
    embedding = model.get_input_embeddings().weight
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if isinstance(dropouts, torch.nn.ModuleDict):
            for name, dropout in dropouts.items():
                if isinstance(dropout, torch.nn.Dropout):
                    dropouts[name] = MaskDropout(dropout.p).train(dropout.training)
        if (
            bf16
            and isinstance(module, torch.nn.Linear)
            and not module.weight.requires_grad
            and module.weight is not embedding
        ):
            module.weight.data = module.weight.data.to(torch.bfloat16)


def decision_tokens(labels: torch.Tensor) -> torch.Tensor:
    """True where a label is the first of a run of trained (not -100) labels: the first token
    of an assistant turn, where a tool call opens or the reply starts in words."""
    trained = labels != -100
    before = torch.nn.functional.pad(trained[..., :-1], (1, 0), value=False)
    return trained & ~before


def call_tokens(labels: torch.Tensor, opener: Sequence[int]) -> torch.Tensor:
    """True on every trained label of an assistant turn whose first labels are `opener` (the
    tool-call opener's token ids): the turn is a call."""
    starts = decision_tokens(labels)
    opens = starts.clone()
    for k, token in enumerate(opener):
        ahead = torch.nn.functional.pad(labels[..., k:], (0, k), value=-100)
        opens &= ahead == token
    turn = torch.cumsum(starts.long(), dim=-1)  # 0 before a row's first turn
    is_call = labels.new_zeros(labels.shape[:-1] + (labels.shape[-1] + 1,))
    is_call = is_call.scatter_reduce(-1, turn, opens.long(), reduce="amax")
    return (labels != -100) & is_call.gather(-1, turn).bool() & (turn > 0)


def weighted_loss(
    logits,
    labels,
    decision_weight: float,
    num_items: int | None,
    call_weight: float = 1.0,
    call_opener: Sequence[int] = (),
):
    """Next-token cross-entropy over the trained labels, the decision tokens' counted
    decision_weight times and the rest of a tool call's call_weight times (call_tokens);
    summed and divided by num_items (the step's trained labels, unweighted, as transformers'
    loss does under gradient accumulation)."""
    targets = labels[..., 1:]
    ce = torch.nn.functional.cross_entropy(
        logits[..., :-1, :].flatten(0, -2).float(),
        targets.flatten(),
        ignore_index=-100,
        reduction="none",
    )
    weights = torch.ones_like(ce)
    if call_weight != 1 and call_opener:
        weights[call_tokens(targets, call_opener).flatten()] = call_weight
    weights[decision_tokens(targets).flatten()] = decision_weight
    total = (ce * weights).sum()
    return total / (num_items if num_items else (targets != -100).sum().clamp(min=1))


def sft_trainer_class(
    fused_lm_head: bool,
    decision_weight: float = 1.0,
    call_weight: float = 1.0,
    call_opener: Sequence[int] = (),
):
    """TRL's SFTTrainer with its fused LM head (fused_lm_head, the stage's choice on CUDA);
    otherwise one that takes the loss from the model's logits (the stage's on CPU, and
    wherever decision tokens are weighted).

    TRL computes the loss through a fused LM head that projects the hidden states in chunks and
    recomputes each chunk's logits in backward (plus entropy and top-1 metrics): it saves GPU
    memory, and on CPU it cost ~35% of a training step (profiled: 1.65 s of ~4 s per 1,024-token
    micro-batch). On CPU the logits of a micro-batch (~200 MB) fit, so the loss comes from the
    model's cross-entropy over the same completion-masked labels (transformers' Trainer.compute_loss),
    the same quantity, summed over assistant tokens and divided by their count in the step.
    With decision_weight > 1 the training loss counts each assistant turn's first token that
    many times and a tool call's other tokens call_weight times (weighted_loss, call_opener the
    token ids a call opens with); evaluation loss stays plain, comparable across runs."""
    from transformers import Trainer
    from trl import SFTTrainer

    plain = decision_weight == 1 and call_weight == 1
    if fused_lm_head and plain:
        return SFTTrainer

    class FullLogitsSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if plain or not model.training:
                return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = weighted_loss(
                outputs.logits,
                labels,
                decision_weight,
                num_items_in_batch,
                call_weight,
                call_opener,
            )
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # as Trainer.compute_loss does
            return (loss, outputs) if return_outputs else loss

    return FullLogitsSFTTrainer


def sort_target_modules(adapter_config) -> None:
    """PEFT keeps target_modules as a set and writes it in the set's order, which changes with
    PYTHONHASHSEED: two identical runs wrote different adapter_config.json files (and DVC
    hashes). Sorted, the same training gives a byte-identical adapter folder; PEFT reads the
    list back as a set. Written as PEFT writes it (indent 2, sorted keys)."""
    config = json.loads(adapter_config.read_text("utf-8"))
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])
    adapter_config.write_text(json.dumps(config, indent=2, sort_keys=True), "utf-8")
