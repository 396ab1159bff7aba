#!/usr/bin/env bash
# The main job: set up, then compare scenarios A, B and C over 30 days on 10 seeds with the
# embedded defaults, and write the run store, logs and report to runs/main (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-runs/main}"
.venv/bin/admarket compare --days 30 --seeds 10 --out "$out"
