import pytest

from twainlora.core.endpoint import EndpointConfig
from twainlora.sft.generators import (
    EndpointGenerator,
    GenerationError,
    Task,
    TemplateGenerator,
)

from openai_stub import OpenAIStub

TASK = Task(
    "weather_joke/rain", "7", "Write a joke about rain in Paris.", {"city": "Paris", "cond": "rain"}
)


def test_template_generator_is_deterministic_and_fills_slots():
    gen = TemplateGenerator(
        {"weather_joke/rain": ["{cond} in {city}, again.", "{city} is wet."]}, seed=0
    )
    assert gen.generate(TASK) == gen.generate(TASK)
    assert gen.generate(TASK) in ("Rain in Paris, again.", "Paris is wet.")
    with pytest.raises(GenerationError, match="no templates for kind 'style_transfer'"):
        gen.generate(Task("style_transfer", "1", "p"))
    with pytest.raises(GenerationError, match="needs slot 'city'"):
        TemplateGenerator({"k": ["{city}"]}, 0).generate(Task("k", "1", "p"))


def test_endpoint_generator_caches_every_response(tmp_path):
    with OpenAIStub() as stub:
        config = EndpointConfig(base_url=stub.base_url, model="stub")
        first = EndpointGenerator(config, tmp_path / "cache", seed=3)
        text = first.generate(TASK)
        assert text.startswith("Generated joke #") and first.requests == 1
        sent = stub.requests[0]
        assert sent["messages"][-1]["content"] == TASK.prompt and sent["seed"] == 3
        # a second run (new generator, same cache) sends nothing and gets the same text
        second = EndpointGenerator(config, tmp_path / "cache", seed=3)
        assert second.generate(TASK) == text and second.requests == 0
        assert len(stub.requests) == 1
        # a different request is a miss
        assert EndpointGenerator(config, tmp_path / "cache", seed=4).generate(TASK)
        assert len(stub.requests) == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("slow", "timed out after 0.5s"),
        ("broken", "gave no usable completion"),
        ("error", "answered HTTP 500"),
    ],
)
def test_endpoint_failures_are_clear_errors_and_cache_nothing(tmp_path, model, message):
    with OpenAIStub() as stub:
        gen = EndpointGenerator(
            EndpointConfig(base_url=stub.base_url, model=model, timeout_s=0.5), tmp_path, seed=0
        )
        with pytest.raises(GenerationError, match=message):
            gen.generate(TASK)
    assert not list(tmp_path.rglob("*.json"))


def test_endpoint_needs_an_address(monkeypatch):
    monkeypatch.delenv("TWAINLORA_GENERATOR_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="needs a base_url and a model"):
        EndpointGenerator(EndpointConfig(), "cache", seed=0)
    monkeypatch.setenv("TWAINLORA_GENERATOR_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TWAINLORA_GENERATOR_MODEL", "m")
    assert EndpointGenerator(EndpointConfig(), "cache", seed=0).config.model == "m"
