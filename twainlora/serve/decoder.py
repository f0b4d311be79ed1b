"""The forward pass the engine decodes with: a Llama-family causal LM over a slot KV cache,
many sequences per step, each row with its own LoRA adapter (or none: the base model).

Why not the transformers model itself: on a 2-core CPU a 135M model's decode step is almost
all per-module overhead (30 layers x ~60 small ops with PEFT's LoRA wrappers, ~65 ms a
token), the per-row adapter is global state of a PeftModel, and its caches want every row
at the same length. Here each layer is a handful of ops on fused weights (q|k|v and
gate|up in one matmul each), every adapter's LoRA of a projection is one pair of matmuls
for the whole batch (see `LoraStack`), and each sequence owns a slot of a preallocated KV
cache, so a sequence joins or leaves the batch without touching the others. The weights are
the transformers model's own tensors (fused copies), so what it loads, this runs.
"""

from __future__ import annotations

import collections
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

# A projection of the fused layer: its parts, in output order, as PEFT names the modules.
FUSED = {
    "qkv": ("q_proj", "k_proj", "v_proj"),
    "o": ("o_proj",),
    "gate_up": ("gate_proj", "up_proj"),
    "down": ("down_proj",),
}
SUPPORTED = ("llama", "mistral", "qwen2")
BLOCK = 64  # tokens: the prefill's attention block, and the unit of the prefix cache


class Matrix:
    """A weight matrix W as the decoder multiplies it: x @ W.T in W's dtype. On a CPU, bf16
    weights are packed once into oneDNN's blocked layout, as torch.compile's freezing packs
    them (torch.ops.mkldnn): the same bits as x @ W.T at every row count, 1.3-1.6x faster at
    1 to 32 rows (a decoder's 120 bf16 projections, measured; tests/serve/test_decoder.py
    checks the bits). The packed copy replaces W.

    A small product (up to SMALL_PRODUCT multiply-adds: the LoRA's, or a decode step's
    attention projections) runs on one thread: waking a second OpenMP thread cost more than it
    saved (LoRA's two matmuls at 2 rows: 80 vs 254 us; 30 o_proj at 2 rows: 2.8 vs 4.0 ms),
    and a packed product's bits do not depend on the thread count (test)."""

    def __init__(self, weight: torch.Tensor):
        self.dtype = weight.dtype
        self.size = weight.numel()
        self.weight: torch.Tensor | None = weight
        self.packed = None
        if packable(weight):
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, 2)  # rows: a hint
            self.weight = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        if self.packed is None:
            return x @ self.weight.T
        with one_thread(x.shape[0] * self.size <= SMALL_PRODUCT):
            return torch.ops.mkldnn._linear_pointwise(
                x.contiguous(), self.packed, None, "none", [], ""
            )


SMALL_PRODUCT = 1 << 22


@contextlib.contextmanager
def one_thread(when: bool = True):
    """torch's intra-op threads set to one for the block (when `when`), then restored."""
    threads = torch.get_num_threads()
    if not when or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def packable(weight: torch.Tensor) -> bool:
    return (
        weight.device.type == "cpu"
        and weight.dtype == torch.bfloat16
        and torch.backends.mkldnn.is_available()
    )


class LoraStack:
    """Every adapter's LoRA of one fused projection, stacked so a batch of rows with mixed
    adapters costs two matmuls: x @ A.T gives each row every adapter's low-rank features,
    a per-row mask keeps its own adapter's columns (scale folded into B), @ B.T maps back.
    A row of the base model keeps none and gets an exact zero."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, owner: torch.Tensor):
        self.a, self.b, self.owner = Matrix(a), Matrix(b), owner  # owner[j]: column j's adapter

    def delta(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x) * mask).to(x.dtype)


@dataclass
class Layer:
    input_norm: torch.Tensor
    qkv: Matrix
    qkv_bias: torch.Tensor | None
    o: Matrix
    post_norm: torch.Tensor
    gate_up: Matrix
    down: Matrix
    lora: dict[str, LoraStack]  # by FUSED name; absent: no adapter touches it


class Decoder:
    """The model's weights, the adapters' stacked LoRA and the KV cache. Not thread-safe:
    the engine's scheduler thread is its only caller."""

    def __init__(
        self,
        model,
        adapters: dict[str, Path],
        context_length: int,
        prefix_cache_tokens: int = 0,
        matmul_dtype: torch.dtype | None = None,
    ):
        """matmul_dtype: the weight matrices (projections, LoRA, LM head) are kept and
        multiplied in it; activations, norms, attention and the KV cache stay in the model's
        dtype. None: the model's dtype."""
        config = model.config
        if config.model_type not in SUPPORTED:
            raise ValueError(
                f"the engine runs Llama-family models ({', '.join(SUPPORTED)}), "
                f"not {config.model_type!r}"
            )
        if getattr(config, "sliding_window", None) and config.sliding_window < context_length:
            raise ValueError(
                f"sliding-window attention ({config.sliding_window}) is not supported; "
                f"set context_length <= {config.sliding_window}"
            )
        inner = model.model
        self.dtype = inner.embed_tokens.weight.dtype
        self.device = inner.embed_tokens.weight.device
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self.context_length = context_length
        self.adapter_names = tuple(adapters)
        self.embed = inner.embed_tokens.weight
        self.final_norm = inner.norm.weight
        self.matmul_dtype = matmul_dtype = matmul_dtype or self.dtype
        self.min_rows = 1 if matmul_dtype == torch.float32 else 2  # decode's docstring: why
        self.lm_head = Matrix(model.lm_head.weight.detach().to(matmul_dtype))
        with torch.no_grad():
            positions = torch.arange(context_length, device=self.device)[None]
            probe = torch.zeros(1, dtype=torch.float32, device=self.device)
            # The model's own rotary module, so its scaling (Llama 3.1's, say) is what we get.
            cos, sin = inner.rotary_emb(probe, positions)
        self.cos, self.sin = cos[0].to(self.dtype), sin[0].to(self.dtype)
        loras = [load_lora(path, len(inner.layers)) for path in adapters.values()]
        self.layers = [
            fused_layer(i, block, loras, matmul_dtype, self.device)
            for i, block in enumerate(inner.layers)
        ]
        # Every LoraStack of every layer shares a few column layouts: one mask per layout.
        self._owners: dict[tuple, torch.Tensor] = {}
        for layer in self.layers:
            for stack in layer.lora.values():
                key = tuple(stack.owner.tolist())
                stack.owner = self._owners.setdefault(key, stack.owner)
        self.k = torch.zeros(0)  # [layers, slots, kv heads, positions, head dim]
        self.v = torch.zeros(0)
        self._reserve(1, BLOCK)
        self.prefixes = PrefixCache(prefix_cache_tokens // BLOCK)
        self.prompt_tokens = {"computed": 0, "reused": 0}  # prefilled so far, and from cache

    # -- the KV cache: slot s holds one sequence; slots [0, n) are the live ones ----------

    def _reserve(self, slots: int, length: int) -> None:
        """Grow the cache (never shrink) to at least `slots` x `length`, doubling."""
        have_slots, have_length = (self.k.shape[1], self.k.shape[3]) if self.k.dim() > 1 else (0, 0)
        if slots <= have_slots and length <= have_length:
            return
        new_slots, new_length = max(have_slots, 1), max(have_length, BLOCK)
        while new_slots < slots:
            new_slots *= 2
        while new_length < length:
            new_length *= 2
        new_length = min(new_length, self.context_length)
        shape = (len(self.layers), new_slots, self.kv_heads, new_length, self.head_dim)
        for name in ("k", "v"):
            grown = torch.zeros(shape, dtype=self.dtype, device=self.device)
            old = getattr(self, name)
            if old.dim() > 1:
                grown[:, :have_slots, :, :have_length] = old
            setattr(self, name, grown)

    def move(self, source: int, target: int) -> None:
        """Copy slot `source`'s cache into slot `target` (to keep the live slots packed)."""
        self.k[:, target] = self.k[:, source]
        self.v[:, target] = self.v[:, source]

    # -- forward ---------------------------------------------------------------------------

    def prefill(self, slot: int, ids: list[int], adapter: int) -> torch.Tensor:
        """Run a prompt into `slot`'s cache (positions 0..len-1); the next-token logits.

        Attention goes in blocks of BLOCK tokens, each block's queries attending to the cache
        up to its own end, and every whole block's keys and values are kept in the prefix
        cache: a later prompt of the same adapter that starts with the same blocks copies them
        instead of computing them (a conversation's next turn, tool prompts with one system
        prompt). Computed or copied, a block's values are the same bits, so the reply does not
        depend on what was cached before. The projections take every uncached token of the
        prompt in one matmul: on 2 CPU cores 64-row matmuls ran at ~290 prompt tokens/s,
        256-row ones at ~410 (measured, SmolLM2-135M float32)."""
        n = len(ids)
        self._reserve(slot + 1, n)
        reused = self.prefixes.restore(adapter, ids, self.k[:, slot], self.v[:, slot])
        self.prompt_tokens["reused"] += reused
        self.prompt_tokens["computed"] += n - reused
        logits = self._prefill_span(slot, ids[reused:], reused, adapter)
        self.prefixes.store(adapter, ids, self.k[:, slot], self.v[:, slot])
        return logits

    def _prefill_span(self, slot: int, ids: list[int], start: int, adapter: int):
        """Positions start..start+len(ids)-1 of `slot`; `start` is a multiple of BLOCK."""
        end = start + len(ids)
        tokens = torch.tensor(ids, device=self.device)
        positions = torch.arange(start, end, device=self.device)
        adapters = torch.full((len(ids),), adapter, device=self.device)
        blocks = [(b, min(b + BLOCK, end)) for b in range(start, end, BLOCK)]
        # Query i of a block (position b+i) sees keys 0..b+i.
        visible = {
            (b, e): torch.arange(e, device=self.device)[None]
            <= torch.arange(b, e, device=self.device)[:, None]
            for b, e in blocks
        }

        def attend(i: int, q, k, v):
            self.k[i, slot, :, start:end] = k.transpose(0, 1)
            self.v[i, slot, :, start:end] = v.transpose(0, 1)
            out = torch.empty_like(q)
            for b, e in blocks:
                out[b - start : e - start] = F.scaled_dot_product_attention(
                    q[b - start : e - start].transpose(0, 1)[None],
                    self.k[i, slot, :, :e][None],
                    self.v[i, slot, :, :e][None],
                    attn_mask=visible[b, e],
                    enable_gqa=True,
                )[0].transpose(0, 1)
            return out

        hidden = self._forward(tokens, positions, adapters, attend, last_only=True)
        return self._logits(hidden)[0]

    def decode(self, tokens: list[int], lengths: list[int], adapters: list[int]) -> torch.Tensor:
        """One step for the live slots 0..B-1: row b feeds tokens[b] at position lengths[b]
        (the tokens its slot holds). The next-token logits, [B, vocab].

        Batched greedy output must equal one-at-a-time output, and bf16 weights turn a
        last-bit difference in an activation into a rounding step of the next matmul's input,
        which became another token a few dozen tokens on (measured). Two things made a row's
        bits depend on the rest of the batch. Attention over a window longer than the row's
        own positions differs in the last bits with the window's length: each row attends
        over exactly its own. And matmul kernels pick their blocking by the number of rows:
        in bf16 a row's product at 1 row differed from the same row's at 2 to 32 (which
        agree), so a 1-row step gets a copy of its row (min_rows). In float32 the rows agree
        at 4, 8 and 12+ only, and padding a single stream to 4 rows cost 40% of its speed;
        there the last bits may differ, which float32 absorbs (tests/serve/test_engine.py)."""
        b = len(tokens)
        pad = max(0, self.min_rows - b)
        self._reserve(b, max(lengths) + 1)
        tokens_t = torch.tensor(tokens + tokens[:1] * pad, device=self.device)
        positions = torch.tensor(lengths + lengths[:1] * pad, device=self.device)
        rows = torch.arange(b, device=self.device)

        def attend(i: int, q, k, v):
            self.k[i, rows, :, positions[:b]] = k[:b]
            self.v[i, rows, :, positions[:b]] = v[:b]
            out = torch.zeros_like(q)  # padding rows attend to nothing
            with one_thread(self.device.type == "cpu"):  # a row's attention: too small for two
                for r, n in enumerate(lengths):
                    out[r] = F.scaled_dot_product_attention(
                        q[r, :, None][None],  # [1, heads, 1, D]
                        self.k[i, r, :, : n + 1][None],  # [1, kv heads, T, D]: a view, no copy
                        self.v[i, r, :, : n + 1][None],
                        enable_gqa=True,
                    )[0, :, 0]
            return out

        hidden = self._forward(
            tokens_t, positions, torch.tensor(adapters + adapters[:1] * pad), attend
        )
        return self._logits(hidden)[:b]

    def _forward(self, tokens, positions, adapters, attend, last_only: bool = False):
        n = tokens.shape[0]
        x = self.embed[tokens]
        cos, sin = self.cos[positions], self.sin[positions]
        masks = self._lora_masks(adapters)
        q_size = self.heads * self.head_dim
        kv_size = self.kv_heads * self.head_dim
        for i, layer in enumerate(self.layers):
            h = rms_norm(x, layer.input_norm, self.eps)
            qkv = project(h, layer.qkv, layer.lora.get("qkv"), masks, layer.qkv_bias)
            q, k, v = qkv.split((q_size, kv_size, kv_size), dim=-1)
            q = rotate(q.view(n, self.heads, self.head_dim), cos, sin)
            k = rotate(k.view(n, self.kv_heads, self.head_dim), cos, sin)
            v = v.view(n, self.kv_heads, self.head_dim)
            attn = attend(i, q, k, v).reshape(n, q_size)
            x = x + project(attn, layer.o, layer.lora.get("o"), masks)
            if last_only and i == len(self.layers) - 1:  # only the last row's logits
                x = x[-1:]
                masks = None if masks is None else {k: m[-1:] for k, m in masks.items()}
            h = rms_norm(x, layer.post_norm, self.eps)
            gate, up = project(h, layer.gate_up, layer.lora.get("gate_up"), masks).chunk(2, -1)
            x = x + project(F.silu(gate) * up, layer.down, layer.lora.get("down"), masks)
        return rms_norm(x, self.final_norm, self.eps)

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden).float()

    def _lora_masks(self, adapters: torch.Tensor) -> dict[int, torch.Tensor] | None:
        """Per column layout, [rows, columns]: 1 where the column is the row's adapter's.
        None when no row has an adapter (-1 is the base model)."""
        if not self._owners or bool((adapters < 0).all()):
            return None
        if self.last_rows is not None and torch.equal(self.last_rows, adapters):
            return self.last_masks
        masks = {
            id(owner): (owner[None, :] == adapters[:, None].to(owner.device)).to(self.matmul_dtype)
            for owner in self._owners.values()
        }
        self.last_rows, self.last_masks = adapters, masks
        return masks

    last_rows: torch.Tensor | None = None
    last_masks: dict | None = None


def project(x, weight: Matrix, lora: LoraStack | None, masks, bias=None):
    out = weight(x).to(x.dtype)
    if bias is not None:
        out = out + bias
    if lora is not None and masks is not None:
        out = out + lora.delta(x, masks[id(lora.owner)])
    return out


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    # As transformers' LlamaRMSNorm: the variance in float32, the result in the model dtype.
    x32 = x.float()
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x32.to(x.dtype)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [n, heads, D] at the rows' positions (cos, sin: [n, D])."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos[:, None] + rotated * sin[:, None]


def fused_layer(index: int, block, loras: list[dict], matmul_dtype, device) -> Layer:
    attn, mlp = block.self_attn, block.mlp
    modules = {
        "q_proj": attn.q_proj,
        "k_proj": attn.k_proj,
        "v_proj": attn.v_proj,
        "o_proj": attn.o_proj,
        "gate_proj": mlp.gate_proj,
        "up_proj": mlp.up_proj,
        "down_proj": mlp.down_proj,
    }
    for name in ("o_proj", "gate_proj", "up_proj", "down_proj"):
        if modules[name].bias is not None:
            raise ValueError(f"layer {index}: a bias on {name} is not supported")
    biases = [modules[n].bias for n in FUSED["qkv"]]
    qkv_bias = torch.cat(biases).detach() if biases[0] is not None else None
    fused = {
        name: Matrix(torch.cat([modules[p].weight for p in parts]).detach().to(matmul_dtype))
        for name, parts in FUSED.items()
    }
    stacks = {}
    for name, parts in FUSED.items():
        stack = lora_stack(index, parts, modules, loras, matmul_dtype, device)
        if stack is not None:
            stacks[name] = stack
    return Layer(
        block.input_layernorm.weight.detach(),
        fused["qkv"],
        qkv_bias,
        fused["o"],
        block.post_attention_layernorm.weight.detach(),
        fused["gate_up"],
        fused["down"],
        stacks,
    )


def lora_stack(index, parts, modules, loras, dtype, device) -> LoraStack | None:
    """Every adapter's LoRA of the parts of one fused projection as one LoraStack: A rows
    (adapter, part) blocks; B block-diagonal over parts (each part's own output rows)."""
    outs = [modules[p].weight.shape[0] for p in parts]
    in_features = modules[parts[0]].weight.shape[1]
    a_blocks, b_blocks, owner = [], [], []
    for adapter, lora in enumerate(loras):
        for p, part in enumerate(parts):
            found = lora.get((index, part))
            if found is None:
                continue
            a, b, scale = found
            a_blocks.append(a)
            padded = torch.zeros(sum(outs), a.shape[0], dtype=torch.float32)
            start = sum(outs[:p])
            padded[start : start + outs[p]] = b * scale
            b_blocks.append(padded)
            owner += [adapter] * a.shape[0]
    if not a_blocks:
        return None
    a_all = torch.cat(a_blocks).to(dtype=dtype, device=device)
    b_all = torch.cat(b_blocks, dim=1).to(dtype=dtype, device=device)
    assert a_all.shape[1] == in_features
    return LoraStack(a_all, b_all, torch.tensor(owner, device=device))


def load_lora(path: Path, layers: int) -> dict[tuple[int, str], tuple]:
    """A PEFT LoRA folder as {(layer, module): (A, B, scale)}, float32. Raises ValueError on
    what this decoder would silently get wrong (DoRA, extra trained modules, ...)."""
    from peft import LoraConfig, PeftConfig
    from peft.utils import load_peft_weights

    config = PeftConfig.from_pretrained(path)
    if not isinstance(config, LoraConfig):
        raise ValueError(f"{path}: a {type(config).__name__}, not a LoRA adapter")
    unsupported = {
        "use_dora": config.use_dora,
        "modules_to_save": config.modules_to_save,
        "alpha_pattern": config.alpha_pattern,
        "rank_pattern": config.rank_pattern,
    }
    unsupported = [k for k, v in unsupported.items() if v]
    if unsupported:
        raise ValueError(f"{path}: LoRA with {', '.join(unsupported)} is not supported")
    scale = config.lora_alpha / (math.sqrt(config.r) if config.use_rslora else config.r)
    weights = load_peft_weights(str(path), device="cpu")
    known = {p for parts in FUSED.values() for p in parts}
    found: dict[tuple[int, str], dict] = {}
    for key, tensor in weights.items():
        # base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight
        fields = key.split(".")
        try:
            at = fields.index("layers")
            index, module, kind = int(fields[at + 1]), fields[at + 3], fields[at + 4]
        except (ValueError, IndexError):
            raise ValueError(f"{path}: unexpected adapter weight {key}") from None
        if module not in known or kind not in ("lora_A", "lora_B") or index >= layers:
            raise ValueError(f"{path}: unexpected adapter weight {key}")
        found.setdefault((index, module), {})[kind] = tensor.float()
    return {
        key: (pair["lora_A"], pair["lora_B"], scale)
        for key, pair in found.items()
        if {"lora_A", "lora_B"} <= pair.keys()
    }


class PrefixCache:
    """Keys and values of prompt blocks already computed, least recently used dropped first.
    A block is found by (adapter, the id of the block before it, its tokens): exact, so a
    hit is always the same prefix."""

    def __init__(self, capacity_blocks: int):
        self.capacity = capacity_blocks
        self.blocks: collections.OrderedDict[tuple, tuple[int, torch.Tensor, torch.Tensor]]
        self.blocks = collections.OrderedDict()
        self.next_id = 0

    def restore(self, adapter: int, ids: list[int], k: torch.Tensor, v: torch.Tensor) -> int:
        """Copy the cached blocks that begin `ids` into one slot's k and v ([layers, kv
        heads, positions, head dim]); how many tokens they cover. The last token is always
        left to compute: its logits are the point of a prefill."""
        parent, covered = -1, 0
        for start in range(0, len(ids) - BLOCK, BLOCK):
            key = (adapter, parent, tuple(ids[start : start + BLOCK]))
            entry = self.blocks.get(key)
            if entry is None:
                break
            self.blocks.move_to_end(key)
            parent = entry[0]
            k[:, :, start : start + BLOCK] = entry[1]
            v[:, :, start : start + BLOCK] = entry[2]
            covered = start + BLOCK
        return covered

    def store(self, adapter: int, ids: list[int], k: torch.Tensor, v: torch.Tensor) -> None:
        """Keep every whole block of `ids` (just computed into k and v) not kept yet."""
        if not self.capacity:
            return
        parent = -1
        for start in range(0, len(ids) - BLOCK + 1, BLOCK):
            key = (adapter, parent, tuple(ids[start : start + BLOCK]))
            entry = self.blocks.get(key)
            if entry is None:
                keys = k[:, :, start : start + BLOCK].clone()
                entry = (self.next_id, keys, v[:, :, start : start + BLOCK].clone())
                self.next_id += 1
                self.blocks[key] = entry
                if len(self.blocks) > self.capacity:
                    self.blocks.popitem(last=False)
            parent = entry[0]
