"""The generation engine behind the server, and so behind the evaluate stage and the
benchmarks, which generate on the server's path (twainlora/serve/assistant.py): the base
model with every adapter attached as a named PEFT adapter, one generation at a time, with
optional grammar-constrained decoding.

One generation at a time is deliberate: the active adapter is global state of the PeftModel,
so switching it for a request and decoding must not interleave with another request. On this
2-core CPU a 135M model decodes ~15 tokens/s at batch 1 (../shared/notes/
cpu-lora-measurements.md) and two concurrent decodes would only split the cores.

The decode loop is our own (prefill, then one token at a time on the KV cache) rather than
`model.generate`, so that the grammar mask, stop strings, streaming and cancellation act on
every token; bench/serve.py measures it against `model.generate`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from twainlora.core.toolcalls import partial_suffix

log = logging.getLogger("twainlora.serve.engine")

BASE = "base"


class PromptTooLong(ValueError):
    pass


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float  # 0: greedy
    top_p: float
    seed: int | None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finish:
    """The end of a generation: its whole text (stop string excluded) and counts."""

    text: str
    reason: str  # "stop" | "length" | "cancelled"
    prompt_tokens: int
    completion_tokens: int


def adapter_dirs(adapters_dir: Path) -> dict[str, Path]:
    """Every PEFT adapter folder directly under `adapters_dir`, by folder name."""
    if not adapters_dir.is_dir():
        return {}
    return {
        p.name: p for p in sorted(adapters_dir.iterdir()) if (p / "adapter_config.json").exists()
    }


class Engine:
    def __init__(self, model, tokenizer, model_ids: tuple[str, ...], context_length: int):
        import llguidance.hf

        self.model = model
        self.tokenizer = tokenizer
        self.model_ids = model_ids
        self.context_length = context_length
        # Building llguidance's token trie takes ~0.7 s: once per engine, not per request.
        self.ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
        config = model.generation_config
        eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
        self.stop_ids = frozenset(eos if isinstance(eos, list) else [eos]) | {
            tokenizer.eos_token_id
        }
        self._turns = FairLock()

    @classmethod
    def load(
        cls,
        base_dir: Path,
        adapters: dict[str, Path],
        dtype: str,
        threads: int,
        context_length: int,
    ) -> Engine:
        """The base model with each of `adapters` (name -> PEFT folder) attached, on the GPU
        when there is one."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(base_dir)
        if not tokenizer.chat_template:
            raise ValueError(
                f"{base_dir} has no chat template; rebuild it with the base_model stage"
            )
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=getattr(torch, dtype))
        if BASE in adapters:
            raise ValueError(f"an adapter may not be named {BASE!r}: it is the bare base model")
        if adapters:
            from peft import PeftModel

            names = list(adapters)
            model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
            for name in names[1:]:
                model.load_adapter(adapters[name], adapter_name=name)
        model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        log.info("loaded %s with adapters %s", base_dir, sorted(adapters))
        return cls(model, tokenizer, (BASE, *adapters), context_length)

    def render(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        """Token ids of the conversation in the chat template, ready for the reply."""
        text = self.tokenizer.apply_chat_template(
            messages, tools=tools or None, add_generation_prompt=True, tokenize=False
        )
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def check_grammar(self, grammar: str) -> None:
        """Raise ValueError if llguidance cannot compile the grammar (an unsupported schema)."""
        import llguidance

        error = llguidance.LLMatcher.validate_grammar(grammar, self.ll_tokenizer)
        if error:
            raise ValueError(error)

    def generate(
        self,
        model_id: str,
        prompt_ids: list[int],
        sampling: Sampling,
        grammar: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | Finish]:
        """The reply as text pieces, then a Finish. Bad requests raise here, before any
        waiting; iterating waits for the engine while another generation runs and holds it
        until this one is exhausted or closed."""
        if model_id not in self.model_ids:
            raise KeyError(model_id)
        room = self.context_length - len(prompt_ids)
        if room < 1:
            raise PromptTooLong(
                f"the prompt has {len(prompt_ids)} tokens; this server's context is "
                f"{self.context_length} tokens, including the reply"
            )
        max_tokens = min(sampling.max_tokens, room)
        return self._locked_decode(model_id, prompt_ids, sampling, max_tokens, grammar, cancel)

    @property
    def waiting(self) -> int:
        """Generations started or queued and not finished."""
        return self._turns.waiting

    def _locked_decode(self, model_id, *args):
        with self._turns, self._adapter(model_id):
            yield from self._decode(*args)

    @contextlib.contextmanager
    def _adapter(self, model_id: str):
        if len(self.model_ids) == 1:
            yield
        elif model_id == BASE:
            with self.model.disable_adapter():
                yield
        else:
            self.model.set_adapter(model_id)
            yield

    def _decode(self, prompt_ids, sampling: Sampling, max_tokens, grammar, cancel):
        import torch
        from transformers import DynamicCache

        matcher = mask_bits = None
        if grammar is not None:
            import llguidance

            matcher = llguidance.LLMatcher(self.ll_tokenizer, grammar, log_level=0)
            if matcher.is_error():
                raise ValueError(matcher.get_error())
            mask_bits = torch.arange(32, dtype=torch.int32)
        generator = None
        if sampling.temperature > 0:
            generator = torch.Generator()
            if sampling.seed is None:
                generator.seed()
            else:
                generator.manual_seed(sampling.seed)
        text = Detokenizer(self.tokenizer, sampling.stop)
        ids: list[int] = []
        reason = "length"
        with torch.inference_mode():
            device = self.model.device
            inputs = torch.tensor([prompt_ids], device=device)
            cache = DynamicCache(config=self.model.config)
            while len(ids) < max_tokens:
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
                # logits_to_keep=1: the prompt's other positions would cost a 49k-vocab
                # projection each for nothing.
                out = self.model(input_ids=inputs, cache=cache, use_cache=True, logits_to_keep=1)
                # The mask and the sampler work on the CPU: one 49k-vector copy per token.
                logits = out.logits[0, -1].float().cpu()
                if matcher is not None:
                    words = torch.frombuffer(
                        bytearray(matcher.compute_bitmask()), dtype=torch.int32
                    )
                    allowed = ((words.unsqueeze(1) >> mask_bits) & 1).flatten().bool()
                    n = min(allowed.numel(), logits.numel())
                    logits[:n].masked_fill_(~allowed[:n], float("-inf"))
                    logits[n:] = float("-inf")
                token = sample(logits, sampling.temperature, sampling.top_p, generator)
                if token in self.stop_ids:
                    reason = "stop"
                    break
                if matcher is not None and not matcher.consume_token(token):
                    raise AssertionError(f"grammar rejected its own token: {matcher.get_error()}")
                ids.append(token)
                piece, stopped = text.add(ids)
                if piece:
                    yield piece
                if stopped or (matcher is not None and matcher.is_stopped()):
                    reason = "stop"
                    break
                inputs = torch.tensor([[token]], device=device)
        rest = text.flush(ids)
        if rest:
            yield rest
        yield Finish(text.text, reason, len(prompt_ids), len(ids))


class FairLock:
    """A lock granted in arrival order: under a burst of requests each waits its turn, none
    is overtaken indefinitely (threading.Lock promises no order)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    @property
    def waiting(self) -> int:
        return self._next_ticket - self._serving

    def __enter__(self):
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._cond.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc):
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


def sample(logits, temperature: float, top_p: float, generator) -> int:
    """Greedy at temperature 0, else nucleus sampling from the tempered distribution."""
    import torch

    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= top_p
        sorted_probs[outside] = 0.0
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


class Detokenizer:
    """Text of a growing token list, released in pieces that are final: a piece never ends
    in half a UTF-8 character or in what may become a stop string."""

    def __init__(self, tokenizer, stop: tuple[str, ...]):
        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.text = ""  # released so far
        self.stopped = False

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(
            ids, skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def add(self, ids: list[int]) -> tuple[str, bool]:
        """(new final text, whether a stop string ended the reply)."""
        full = self._decode(ids)
        released = len(self.text)
        # Earlier pieces held back any possible stop-string start, so a match begins here.
        hits = [i for i in (full.find(s, released) for s in self.stop) if i >= 0]
        if hits:
            piece = full[released : min(hits)]
            self.text += piece
            self.stopped = True
            return piece, True
        end = len(full)
        while end > released and full[end - 1] == "\ufffd":
            end -= 1
        end -= max((partial_suffix(full[released:end], s) for s in self.stop), default=0)
        piece = full[released:end]
        self.text += piece
        return piece, False

    def flush(self, ids: list[int]) -> str:
        """Whatever was held back, once generation has ended without a stop string."""
        if self.stopped:
            return ""
        piece = self._decode(ids)[len(self.text) :]
        self.text += piece
        return piece
