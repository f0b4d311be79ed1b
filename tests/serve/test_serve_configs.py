"""The serving configurations agree with the pipeline: `twainlora serve`'s params, and the TGI
and vLLM launch files serve the adapters dvc.yaml produces, under the server's model ids."""

import dataclasses
import posixpath
import shlex
from pathlib import PurePosixPath

import pytest
import yaml

from twainlora.core.params import load_params
from twainlora.serve.engine import BASE
from twainlora.serve.settings import ServeParams

from conftest import ROOT, shipped_params

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
TRAIN_OUT = DVC["train"]["do"]["outs"][0]
# What the pipeline writes: {adapter name: folder}, from the train stage's foreach.
PIPELINE_ADAPTERS = {key: TRAIN_OUT.replace("${key}", key) for key in DVC["train"]["foreach"]}
PIPELINE_BASE = "models/base"
SERVE = load_params("serve", ServeParams, ROOT / "params.yaml")


def test_pipeline_outputs_are_what_the_server_serves():
    assert PIPELINE_BASE in DVC["base_model"]["outs"]
    assert PIPELINE_ADAPTERS == {
        "style": "models/adapters/style",
        "style_tool": "models/adapters/style_tool",
    }
    assert SERVE.base == PIPELINE_BASE
    # The server serves every folder under serve.adapters, by folder name.
    assert {str(PurePosixPath(p).parent) for p in PIPELINE_ADAPTERS.values()} == {SERVE.adapters}
    assert all(PurePosixPath(p).name == name for name, p in PIPELINE_ADAPTERS.items())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 0}, "port must be 1-65535"),
        ({"top_p": 0.0}, "top_p in"),
        ({"max_tokens": 0}, "must be >= 1"),
        ({"engine": {"dtype": "int4"}}, "dtype must be"),
        ({"engine": {"context_length": 0}}, "must be >= 1"),
        ({"engine": {"max_batch": 0}}, "must be >= 1"),
        ({"engine": {"prefix_cache_tokens": -1}}, "must be >= 0"),
    ],
)
def test_bad_serve_params_are_clear_errors(change, message):
    with pytest.raises(ValueError, match=message):
        if "engine" in change:
            dataclasses.replace(SERVE.engine, **change["engine"])
        else:
            dataclasses.replace(SERVE, **change)


def vllm_command() -> list[str]:
    text = (ROOT / "serve/vllm/launch.sh").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.strip().startswith("exec vllm serve")]
    assert len(lines) == 1
    return shlex.split(lines[0])


def flag_values(argv: list[str], flag: str) -> list[str]:
    """The values after `flag`, up to the next flag."""
    i = argv.index(flag)
    values = []
    for arg in argv[i + 1 :]:
        if arg.startswith("--") or arg == "$@":
            break
        values.append(arg)
    return values


def test_vllm_launch_serves_the_pipeline_adapters_under_the_server_ids():
    argv = vllm_command()
    assert argv[:4] == ["exec", "vllm", "serve", PIPELINE_BASE]
    modules = dict(m.split("=", 1) for m in flag_values(argv, "--lora-modules"))
    assert modules == PIPELINE_ADAPTERS
    assert flag_values(argv, "--served-model-name") == [BASE]
    assert "--enable-lora" in argv and "--enable-auto-tool-choice" in argv
    assert flag_values(argv, "--tool-call-parser") == ["hermes"]  # our <tool_call> format
    template = shipped_params()["base_model"]["chat_template"]
    assert flag_values(argv, "--chat-template") == [f"twainlora/templates/{template}"]
    assert (ROOT / "twainlora/templates" / template).exists()
    assert int(flag_values(argv, "--max-lora-rank")[0]) >= shipped_params()["train"]["lora"]["r"]
    assert flag_values(argv, "--max-model-len") == [str(SERVE.engine.context_length)]
    assert flag_values(argv, "--host") == [SERVE.host]
    assert flag_values(argv, "--port") == [str(SERVE.port)]


def test_tgi_compose_mounts_the_pipeline_outputs_under_the_server_ids():
    compose = yaml.safe_load((ROOT / "serve/tgi/compose.yaml").read_text())
    service = compose["services"]["tgi"]
    assert service["image"].startswith("ghcr.io/huggingface/text-generation-inference:")
    # container path -> repository path, through the volumes (relative to serve/tgi/)
    mounts = {}
    for volume in service["volumes"]:
        host, container = volume.split(":")[:2]
        mounts[container] = (PurePosixPath("serve/tgi") / host).as_posix()

    def host_path(container_path: str) -> str:
        for container, host in mounts.items():
            if container_path == container or container_path.startswith(container + "/"):
                return posixpath.normpath(host + container_path[len(container) :])
        raise AssertionError(f"{container_path} is not mounted")

    env = service["environment"]
    assert host_path(env["MODEL_ID"]) == PIPELINE_BASE
    adapters = dict(a.split("=", 1) for a in env["LORA_ADAPTERS"].split(","))
    assert {name: host_path(path) for name, path in adapters.items()} == PIPELINE_ADAPTERS
    assert int(env["MAX_TOTAL_TOKENS"]) == SERVE.engine.context_length
    assert int(env["MAX_INPUT_TOKENS"]) < SERVE.engine.context_length
    launch = (ROOT / "serve/tgi/launch.sh").read_text()
    assert "docker compose -f serve/tgi/compose.yaml up" in launch
    assert host_path(env["TOKENIZER_CONFIG_PATH"]) == ".cache/serve/tgi/tokenizer_config.json"
    assert ".cache/serve/tgi/tokenizer_config.json" in launch
