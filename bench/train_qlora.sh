#!/usr/bin/env bash
# QLoRA through the real stages on a CUDA machine that has no dvc or git (the lent GPU machine
# behind bench/results/train_qlora_*.json). It runs what
#   dvc exp run -S train.quantization=nf4 -S train.profile=gpu -S train.batch_size=8 ...
# runs, without dvc: base_model (if models/base is missing), train@style, train@style_tool.
# It rewrites params.yaml with the overrides: run it in a scratch copy of the repository.
#
# usage: bench/train_qlora.sh RESULTS_DIR [dotted.param=value ...]
set -euo pipefail
results=$1
shift
python - "$@" <<'EOF'
import sys

import yaml

params = yaml.safe_load(open("params.yaml"))
for override in sys.argv[1:]:
    key, value = override.split("=", 1)
    *parents, last = key.split(".")
    node = params
    for part in parents:
        node = node[part]
    if last not in node:
        sys.exit(f"params.yaml has no {key}")
    node[last] = yaml.safe_load(value)
yaml.safe_dump(params, open("params.yaml", "w"), sort_keys=False)
EOF
config=$(python -c 'import yaml; print(yaml.safe_load(open("params.yaml"))["train"]["accelerate_config"])')
[ -f models/base/model.safetensors ] || python stages/base_model.py
for name in style style_tool; do
  accelerate launch --config_file "$config" stages/train.py "$name"
done
mkdir -p "$results"
cp metrics/train_style.json metrics/train_style_tool.json plots/train_style.csv \
  plots/train_style_tool.csv "$results"/
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$results/gpu.csv"
fi
