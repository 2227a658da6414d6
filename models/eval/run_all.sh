#!/usr/bin/env bash
# Re-runs the whole held-out evaluation with the models in the tree: builds the release
# `waypoint` binary, reshapes every held-out set into a temporary directory, runs
# `waypoint eval` on each (clean and obfuscated) and writes models/eval/results.{json,md}.
# Extra arguments go to run_eval.py (e.g. --only hatecheck_en,mhc_dutch --jobs 2).
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x models/train/.venv/bin/python ]; then PY=models/train/.venv/bin/python; else PY=python3; fi
fi
"$PY" -c "import pandas, numpy" 2>/dev/null || {
  echo "run_all.sh: $PY lacks pandas/numpy; create models/train/.venv as in models/README.md" >&2
  exit 1
}

cargo build --release -q -p waypoint-cli
start=$(date +%s)
"$PY" models/eval/run_eval.py --bin target/release/waypoint "$@"
echo "run_all.sh: evaluation took $(( $(date +%s) - start )) s" >&2
