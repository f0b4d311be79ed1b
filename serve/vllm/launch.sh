#!/usr/bin/env bash
# vLLM serving what the pipeline produced: models/base with the style and style_tool adapters,
# OpenAI-compatible on http://127.0.0.1:8080/v1 with the same model ids as `twainlora serve`
# (base, style, style_tool). Tool calls are parsed by vLLM's hermes parser, which reads the
# <tool_call>{"name": ..., "arguments": ...}</tool_call> text our template teaches.
#
#   pip install vllm && serve/vllm/launch.sh [more vllm serve flags]   # after `dvc repro`
#
# An API key: VLLM_API_KEY=... serve/vllm/launch.sh (or --api-key KEY).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec vllm serve models/base \
  --served-model-name base \
  --host 127.0.0.1 --port 8080 \
  --enable-lora \
  --lora-modules style=models/adapters/style style_tool=models/adapters/style_tool \
  --max-lora-rank 16 \
  --enable-auto-tool-choice --tool-call-parser hermes \
  --chat-template twainlora/templates/chatml_tools.jinja \
  --max-model-len 2048 \
  "$@"
