"""The generation engine behind the server, and so behind the evaluate stage and the
benchmarks, which generate on the server's path (twainlora/serve/assistant.py): the base
model with every adapter attached, many generations decoded together.

Continuous batching: `generate` queues a request and returns at once; one scheduler thread
admits queued requests into the running batch (a prefill each), then advances every live
sequence by one token per forward step (twainlora/serve/decoder.py), whatever its adapter.
Each sequence keeps its own sampling, stop strings, grammar (an llguidance matcher),
cancellation and event queue, and leaves the batch the step it finishes; a request that
fails or is cancelled ends alone, the others decode on. Under greedy decoding a request's
tokens do not depend on what else is in the batch (tests/serve/test_engine.py).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    # OpenAI's penalties on the tokens generated so far (penalize); the repetition guard.
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    # transformers' no_repeat_ngram_size: no n tokens of the reply twice (0: off).
    no_repeat_ngram_size: int = 0


@dataclass(frozen=True)
class Finish:
    """The end of a generation: its whole text (stop string excluded) and counts."""

    text: str
    reason: str  # "stop" | "length" | "cancelled"
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class EngineConfig:
    """How the engine runs: params.yaml serve.engine, which the evaluate stage reads too, so
    that evaluated answers are served ones."""

    dtype: str  # float32 | bfloat16 | float16
    threads: int  # torch's intra-op threads
    context_length: int  # prompt + reply, in tokens
    max_batch: int  # sequences decoded together; more requests wait in a queue
    prefix_cache_tokens: int  # prompt tokens whose keys and values are kept for reuse; 0: none
    # The weight matrices (projections, LoRA, LM head): auto is bfloat16 where the machine
    # multiplies bf16 natively (matmul_dtype_for), else dtype.
    matmul_dtype: str = "auto"

    def __post_init__(self):
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError("dtype must be float32, bfloat16 or float16")
        if self.matmul_dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ValueError("matmul_dtype must be auto, float32, bfloat16 or float16")
        if min(self.threads, self.context_length, self.max_batch) < 1:
            raise ValueError("threads, context_length and max_batch must be >= 1")
        if self.prefix_cache_tokens < 0:
            raise ValueError("prefix_cache_tokens must be >= 0")


def matmul_dtype_for(config: EngineConfig, cuda: bool):
    """The torch dtype of the weight matrices. auto: bfloat16 on a GPU or CPU that
    multiplies it natively (AVX-512 BF16, AMX), where it halves the bytes a decode step reads
    and the rest stays in config.dtype; on an AVX2-only CPU torch emulates bf16 matmuls, 2-4x
    slower than float32 (measured), so there it is config.dtype."""
    import torch

    from twainlora.train.training import native_bf16

    if config.matmul_dtype != "auto":
        return getattr(torch, config.matmul_dtype)
    if config.dtype == "float32" and native_bf16(cuda):
        return torch.bfloat16
    return getattr(torch, config.dtype)


def adapter_dirs(adapters_dir: Path) -> dict[str, Path]:
    """Every PEFT adapter folder directly under `adapters_dir`, by folder name."""
    if not adapters_dir.is_dir():
        return {}
    return {
        p.name: p for p in sorted(adapters_dir.iterdir()) if (p / "adapter_config.json").exists()
    }


class Engine:
    def __init__(self, model, tokenizer, adapters: dict[str, Path], config: EngineConfig):
        import llguidance.hf

        from twainlora.serve.decoder import Decoder

        if BASE in adapters:
            raise ValueError(f"an adapter may not be named {BASE!r}: it is the bare base model")
        self.tokenizer = tokenizer
        self.model_ids = (BASE, *adapters)
        self.context_length = config.context_length
        self.max_batch = config.max_batch
        self.decoder = Decoder(
            model,
            adapters,
            config.context_length,
            config.prefix_cache_tokens,
            matmul_dtype_for(config, model.device.type == "cuda"),
        )
        # Building llguidance's token trie takes ~0.7 s: once per engine, not per request.
        self.ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
        config = model.generation_config
        eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
        self.stop_ids = frozenset(eos if isinstance(eos, list) else [eos]) | {
            tokenizer.eos_token_id
        }
        self._queued: collections.deque[Sequence] = collections.deque()
        self._live: list[Sequence] = []  # live[i] decodes in the decoder's slot i
        self._unfinished = 0
        self._count = threading.Lock()
        self._wake = threading.Condition()
        self._scheduler = threading.Thread(target=self._run, daemon=True, name="engine")
        self._scheduler.start()

    @classmethod
    def load(
        cls,
        base_dir: Path,
        adapters: dict[str, Path],
        config: EngineConfig,
    ) -> Engine:
        """The base model with each of `adapters` (name -> PEFT folder), on the GPU when
        there is one."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(config.threads)
        tokenizer = AutoTokenizer.from_pretrained(base_dir)
        if not tokenizer.chat_template:
            raise ValueError(
                f"{base_dir} has no chat template; rebuild it with the base_model stage"
            )
        dtype = getattr(torch, config.dtype)
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype)
        model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        engine = cls(model, tokenizer, adapters, config)
        log.info("loaded %s with adapters %s", base_dir, sorted(adapters))
        return engine

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
        """Queue a generation; its reply as text pieces, then a Finish. Bad requests raise
        here; a failure while decoding is raised from the iterator. Closing the iterator
        early cancels the generation."""
        if model_id not in self.model_ids:
            raise KeyError(model_id)
        room = self.context_length - len(prompt_ids)
        if room < 1:
            raise PromptTooLong(
                f"the prompt has {len(prompt_ids)} tokens; this server's context is "
                f"{self.context_length} tokens, including the reply"
            )
        matcher = None
        if grammar is not None:
            import llguidance

            matcher = llguidance.LLMatcher(self.ll_tokenizer, grammar, log_level=0)
            if matcher.is_error():
                raise ValueError(matcher.get_error())
        seq = Sequence(
            adapter=self.model_ids.index(model_id) - 1,
            prompt_ids=list(prompt_ids),
            sampling=sampling,
            max_tokens=min(sampling.max_tokens, room),
            matcher=matcher,
            detokenizer=Detokenizer(self.tokenizer, sampling.stop),
            cancel=cancel if cancel is not None else threading.Event(),
            generator=seeded_generator(sampling),
            on_done=self._done,
        )
        with self._count:
            self._unfinished += 1
        with self._wake:
            self._queued.append(seq)
            self._wake.notify()
        return seq.read()

    @property
    def waiting(self) -> int:
        """Generations queued or decoding: 0 once every reader has had its last event."""
        return self._unfinished

    def _done(self) -> None:
        with self._count:
            self._unfinished -= 1

    # -- the scheduler thread --------------------------------------------------------------

    def _run(self) -> None:
        import torch

        with torch.inference_mode():
            while True:
                with self._wake:
                    self._wake.wait_for(lambda: self._queued or self._live)
                    admitted = []
                    while self._queued and len(self._live) + len(admitted) < self.max_batch:
                        admitted.append(self._queued.popleft())
                for seq in admitted:
                    self._admit(seq)
                self._step()

    def _admit(self, seq: Sequence) -> None:
        """Prefill the prompt into the next free slot and take the first token."""
        if seq.cancel.is_set():
            seq.finish("cancelled")
            return
        try:
            logits = self.decoder.prefill(len(self._live), seq.prompt_ids, seq.adapter)
            self._live.append(seq)
            self._advance([seq], logits[None])
        except Exception as e:  # this request's failure, not the batch's
            log.exception("prefill failed")
            seq.fail(e)
        self._release()

    def _step(self) -> None:
        """One token for every live sequence."""
        for seq in self._live:
            if seq.cancel.is_set():
                seq.finish("cancelled")
        self._release()
        if not self._live:
            return
        live = self._live
        try:
            logits = self.decoder.decode(
                [s.ids[-1] for s in live],
                [len(s.prompt_ids) + len(s.ids) - 1 for s in live],
                [s.adapter for s in live],
            )
        except Exception as e:  # the batch's forward failed: every sequence in it fails
            log.exception("decode step failed")
            for seq in live:
                seq.fail(e)
            self._release()
            return
        self._advance(live, logits)
        self._release()

    def _advance(self, rows: list[Sequence], logits) -> None:
        """Choose each row's next token from its logits [rows, vocab] (masked in place by
        the rows' grammars), and hand out its text; a row that fails, fails alone."""
        grammar_rows = [i for i, s in enumerate(rows) if s.matcher is not None and not s.done]
        if grammar_rows:
            apply_grammar(logits, [(i, rows[i].matcher) for i in grammar_rows])
        for seq, row in zip(rows, logits, strict=True):
            if seq.done:
                continue
            try:
                if seq.matcher is None:
                    penalize(row, seq.ids, seq.sampling)
                self._take(
                    seq, sample(row, seq.sampling.temperature, seq.sampling.top_p, seq.generator)
                )
            except Exception as e:
                log.exception("generation failed")
                seq.fail(e)

    def _take(self, seq: Sequence, token: int) -> None:
        if token in self.stop_ids:
            seq.finish("stop")
            return
        if seq.matcher is not None and not seq.matcher.consume_token(token):
            raise AssertionError(f"grammar rejected its own token: {seq.matcher.get_error()}")
        seq.ids.append(token)
        piece, stopped = seq.detokenizer.add(seq.ids)
        if piece:
            seq.events.put(piece)
        if stopped or (seq.matcher is not None and seq.matcher.is_stopped()):
            seq.finish("stop")
        elif len(seq.ids) >= seq.max_tokens:
            seq.finish("length")

    def _release(self) -> None:
        """Drop finished sequences, moving the last live slot into each hole."""
        live = self._live
        for i in range(len(live) - 1, -1, -1):
            if live[i].done:
                last = len(live) - 1
                if i != last:
                    self.decoder.move(last, i)
                    live[i] = live[last]
                live.pop()


@dataclass(eq=False)
class Sequence:
    """One generation in the engine: its request, its tokens so far and its events."""

    adapter: int  # index into the decoder's adapters; -1: the base model
    prompt_ids: list[int]
    sampling: Sampling
    max_tokens: int
    matcher: object | None  # llguidance.LLMatcher
    detokenizer: Detokenizer
    cancel: threading.Event
    generator: object | None  # torch.Generator for sampling; None when greedy
    on_done: Callable[[], None]  # called once, before the last event is handed out
    ids: list[int] = field(default_factory=list)
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    done: bool = False

    def finish(self, reason: str) -> None:
        if self.done:
            return
        if reason == "cancelled":
            log.info("generation cancelled after %d tokens", len(self.ids))
        rest = self.detokenizer.flush(self.ids) if reason != "cancelled" else ""
        if rest:
            self.events.put(rest)
        self.done = True
        self.on_done()
        self.events.put(Finish(self.detokenizer.text, reason, len(self.prompt_ids), len(self.ids)))

    def fail(self, error: Exception) -> None:
        if not self.done:
            self.done = True
            self.on_done()
            self.events.put(error)

    def read(self) -> Iterator[str | Finish]:
        try:
            while True:
                event = self.events.get()
                if isinstance(event, Exception):
                    raise event
                yield event
                if isinstance(event, Finish):
                    return
        finally:
            self.cancel.set()  # a no-op once finished; else the reader has gone


def seeded_generator(sampling: Sampling):
    if sampling.temperature <= 0:
        return None
    import torch

    generator = torch.Generator()
    if sampling.seed is None:
        generator.seed()
    else:
        generator.manual_seed(sampling.seed)
    return generator


def apply_grammar(logits, rows: list[tuple[int, object]]) -> None:
    """Set to -inf, in place, every token a row's grammar forbids next (rows: (row index in
    logits, its llguidance matcher)); one unpacking of the bitmasks for the whole batch."""
    import torch
    from llguidance.torch import allocate_token_bitmask, fill_next_token_bitmask

    index = torch.tensor([i for i, _ in rows])
    masks = allocate_token_bitmask(len(rows), logits.shape[1])
    for n, (_, matcher) in enumerate(rows):
        fill_next_token_bitmask(matcher, masks, n)
    bits = torch.arange(32, dtype=torch.int32)
    allowed = ((masks.unsqueeze(2) >> bits) & 1).flatten(1).bool()[:, : logits.shape[1]]
    logits[index] = logits[index].masked_fill(~allowed, float("-inf"))


def penalize(logits, ids: list[int], sampling: Sampling) -> None:
    """The repetition guard, in place on one row of logits. OpenAI's frequency and presence
    penalties: a token generated n times so far loses n x frequency_penalty +
    presence_penalty. And no_repeat_ngram_size n: a token that would end a run of n tokens
    the reply already holds is ruled out (-inf), as transformers' generate does; a loop
    breaks the first time it would come round. The engine applies the guard to replies
    decoded without a tool grammar only: a call's JSON repeats its quotes and a date its
    digits by necessity."""
    if not ids:
        return
    import torch

    if sampling.frequency_penalty or sampling.presence_penalty:
        tokens, counts = torch.unique(torch.tensor(ids), return_counts=True)
        logits[tokens] -= counts.to(logits.dtype) * sampling.frequency_penalty
        logits[tokens] -= sampling.presence_penalty
    banned = repeated_ngram_ends(ids, sampling.no_repeat_ngram_size)
    if banned:
        logits[banned] = float("-inf")


def repeated_ngram_ends(ids: list[int], n: int) -> list[int]:
    """The tokens that would make ids end in an n-gram it already holds (n < 2: none)."""
    if n < 2 or len(ids) < n:
        return []
    prefix = ids[len(ids) - n + 1 :]
    return [ids[i + n - 1] for i in range(len(ids) - n + 1) if ids[i : i + n - 1] == prefix]


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
