import pytest
import torch
from live_server import make_adapters
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from twainlora.serve.decoder import Decoder
from twainlora.serve.engine import EngineConfig, adapter_dirs, matmul_dtype_for

TEXTS = ["The river was wide and brown that", "Is it raining in Boston today? Let me"]


@pytest.fixture(scope="module")
def adapters(base_model_dir, tmp_path_factory):
    return adapter_dirs(make_adapters(base_model_dir, tmp_path_factory.mktemp("adapters")))


@pytest.fixture(scope="module")
def models(base_model_dir, adapters):
    """Our decoder over the base model and PEFT's model with the same adapters."""
    base = AutoModelForCausalLM.from_pretrained(base_model_dir).eval()
    peft = AutoModelForCausalLM.from_pretrained(base_model_dir)
    names = list(adapters)
    peft = PeftModel.from_pretrained(peft, adapters[names[0]], adapter_name=names[0])
    for name in names[1:]:
        peft.load_adapter(adapters[name], adapter_name=name)
    tokenizer = AutoTokenizer.from_pretrained(base_model_dir)
    ids = [tokenizer(t)["input_ids"] for t in TEXTS]
    return Decoder(base, adapters, context_length=256), peft.eval(), names, ids


def reference(peft, adapter: str | None, ids: list[int]) -> torch.Tensor:
    """transformers + PEFT: the logits at every position."""
    with torch.inference_mode():
        if adapter is None:
            with peft.disable_adapter():
                return peft(torch.tensor([ids])).logits[0]
        peft.set_adapter(adapter)
        return peft(torch.tensor([ids])).logits[0]


def test_prefill_and_decode_match_transformers_for_every_adapter(models):
    decoder, peft, names, prompts = models
    with torch.inference_mode():
        for index, adapter in [(-1, None)] + list(enumerate(names)):
            for slot, ids in enumerate(prompts):
                expected = reference(peft, adapter, ids)
                # the prompt minus its last token, then that token as one decode step
                prefill = decoder.prefill(slot, ids[:-1], index)
                torch.testing.assert_close(prefill, expected[-2], atol=2e-4, rtol=1e-4)
            # both slots decode their last token in one step, at their own positions
            step = decoder.decode([p[-1] for p in prompts], [len(p) - 1 for p in prompts],
                                  [index] * len(prompts))  # fmt: skip
            for row, ids in enumerate(prompts):
                expected = reference(peft, adapter, ids)[-1]
                torch.testing.assert_close(step[row], expected, atol=2e-4, rtol=1e-4)


def test_rows_of_one_step_may_use_different_adapters(models):
    decoder, peft, names, prompts = models
    ids = prompts[0]
    rows = [-1, 0, 1]
    with torch.inference_mode():
        for slot, index in enumerate(rows):
            decoder.prefill(slot, ids[:-1], index)
        step = decoder.decode([ids[-1]] * 3, [len(ids) - 1] * 3, rows)
        for row, adapter in enumerate([None, *names]):
            torch.testing.assert_close(
                step[row], reference(peft, adapter, ids)[-1], atol=2e-4, rtol=1e-4
            )
    assert not torch.allclose(step[0], step[1]) and not torch.allclose(step[1], step[2])


def test_an_adapter_it_would_get_wrong_is_refused(base_model_dir, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(base_model_dir)
    config = LoraConfig(r=2, target_modules=["q_proj"], use_dora=True, task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(tmp_path / "dora")
    base = AutoModelForCausalLM.from_pretrained(base_model_dir)
    with pytest.raises(ValueError, match="dora.*use_dora"):
        Decoder(base, {"dora": tmp_path / "dora"}, context_length=64)


def test_prefix_cache_reuses_blocks_without_changing_a_bit(base_model_dir, adapters):
    """A prompt whose first blocks are cached (same adapter) gets the logits it gets with no
    cache at all, bit for bit; another adapter's blocks are never used."""
    base = AutoModelForCausalLM.from_pretrained(base_model_dir).eval()
    cached = Decoder(base, adapters, context_length=512, prefix_cache_tokens=1024)
    plain = Decoder(base, adapters, context_length=512)
    first = list(range(1000, 1150))  # two whole blocks and a tail
    second = first[:64] + list(range(2000, 2100))  # shares the first block
    with torch.inference_mode():
        for index in (0, 1, -1):
            for ids in (first, first, second):
                assert torch.equal(cached.prefill(0, ids, index), plain.prefill(0, ids, index))
    # per adapter: first's two blocks and second's second block
    assert len(cached.prefixes.blocks) == 3 * 3


def test_a_rows_logits_do_not_depend_on_the_rest_of_the_batch(base_model_dir, adapters):
    """A step's logits for a row, alone and in a batch of 2 to 7 rows of other prompts,
    lengths and adapters, with the weights in the dtype the engine picks on this machine:
    the same bits in bf16 (Decoder.decode says why that needs care), the same next token
    and last-bit differences at most in float32."""
    matmul_dtype = matmul_dtype_for(EngineConfig("float32", 1, 256, 8, 0), cuda=False)
    base = AutoModelForCausalLM.from_pretrained(base_model_dir).eval()
    decoder = Decoder(base, adapters, context_length=256, matmul_dtype=matmul_dtype)
    prompts = [list(range(1000 + 100 * i, 1012 + 100 * i + 9 * i)) for i in range(7)]
    rows = [(-1, 0, 1)[i % 3] for i in range(7)]
    with torch.inference_mode():
        alone = []
        for ids, adapter in zip(prompts, rows, strict=True):
            decoder.prefill(0, ids[:-1], adapter)
            alone.append(decoder.decode([ids[-1]], [len(ids) - 1], [adapter])[0])
        for size in range(2, 8):
            for slot in range(size):
                decoder.prefill(slot, prompts[slot][:-1], rows[slot])
            step = decoder.decode(
                [p[-1] for p in prompts[:size]], [len(p) - 1 for p in prompts[:size]], rows[:size]
            )
            for row in range(size):
                if matmul_dtype == torch.float32:
                    torch.testing.assert_close(step[row], alone[row], atol=1e-4, rtol=0)
                    assert step[row].argmax() == alone[row].argmax()
                else:
                    assert torch.equal(step[row], alone[row]), (size, row)
    if matmul_dtype != torch.float32:  # bf16 weights change the logits a little, not the model
        plain = Decoder(base, adapters, context_length=256)
        with torch.inference_mode():
            for ids, adapter in zip(prompts, rows, strict=True):
                expected, got = plain.prefill(0, ids, adapter), decoder.prefill(0, ids, adapter)
                assert torch.nn.functional.cosine_similarity(got, expected, dim=0) > 0.99


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_packed_matrix_multiplies_to_the_same_bits_as_a_plain_matmul(dtype):
    """Matrix packs bf16 weights for oneDNN on a CPU: a speed-up that must not move a bit, at
    one row (a decode step), a batch, or a prompt's rows, from a non-contiguous input too."""
    from twainlora.serve.decoder import Matrix, packable

    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(200, 96, generator=generator).to(dtype)
    matrix = Matrix(weight.clone())
    assert (matrix.packed is not None) == packable(weight)
    wide = torch.randn(300, 192, generator=generator).to(dtype)
    for rows in (1, 2, 7, 32, 300):
        x = wide[:rows, ::2]  # every other column: a strided view
        assert torch.equal(matrix(x), x @ weight.T), rows
