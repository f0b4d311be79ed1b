#!/usr/bin/env bash
# TGI with the pipeline's base model and adapters, in docker (NVIDIA GPU).
#
#   serve/tgi/launch.sh            # after `dvc repro`; then http://127.0.0.1:8080/v1
#
# TGI reads the chat template from a tokenizer_config.json, while transformers saves it in
# chat_template.jinja beside it: merge the two into .cache/serve/tgi/ for the container.
set -euo pipefail
cd "$(dirname "$0")/../.."
for dir in models/base models/adapters/style models/adapters/style_tool; do
  [[ -d $dir ]] || { echo "$dir is missing: run \`dvc repro\` (or \`dvc pull\`) first" >&2; exit 1; }
done
mkdir -p .cache/serve/tgi
python - <<'PY'
import json
from pathlib import Path

base = Path("models/base")
config = json.loads((base / "tokenizer_config.json").read_text("utf-8"))
config["chat_template"] = (base / "chat_template.jinja").read_text("utf-8")
Path(".cache/serve/tgi/tokenizer_config.json").write_text(json.dumps(config, indent=2), "utf-8")
PY
exec docker compose -f serve/tgi/compose.yaml up
