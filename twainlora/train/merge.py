"""An adapter merged into its base model (PEFT's merge_and_unload), checked before it is used:
greedy generation of the merged model must equal base + adapter token for token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twainlora.train.models import replaced_folder


@dataclass(frozen=True)
class MergeCheck:
    prompts: int
    greedy_matches: int
    max_logit_diff: float  # the largest first-token logit difference over the prompts

    @property
    def ok(self) -> bool:
        return self.greedy_matches == self.prompts


def greedy(model, tokenizer, prompt: str, max_new_tokens: int):
    """(new token ids, first-step logits) of greedy decoding after the chat template."""
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
    )["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1]
        out = model.generate(
            input_ids=ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=None
        )
    return out[0, ids.shape[1] :].tolist(), logits


def merge_and_check(model, tokenizer, prompts: Sequence[str], max_new_tokens: int):
    """(the merged model, how its greedy output compares with the PEFT model's on prompts)."""
    before = [greedy(model, tokenizer, p, max_new_tokens) for p in prompts]
    merged = model.merge_and_unload().eval()
    after = [greedy(merged, tokenizer, p, max_new_tokens) for p in prompts]
    pairs = list(zip(before, after, strict=True))
    return merged, MergeCheck(
        prompts=len(prompts),
        greedy_matches=sum(a[0] == b[0] for a, b in pairs),
        max_logit_diff=max(float((a[1] - b[1]).abs().max()) for a, b in pairs),
    )


def save_merged(merged, tokenizer, out) -> None:
    with replaced_folder(out) as tmp:
        merged.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
