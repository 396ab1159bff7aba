#!/usr/bin/env bash
# The main job: set up, then compare scenarios A, B and C over 30 days on 10 seeds with the
# embedded defaults, and write the run store, logs and report to runs/main (or $1); then
# say what drives C: each ledger fault (and the count discrepancy B shares) varied alone from
# a perfect ledger, B beside C, 5 seeds, into runs/main-ledger-sweep (sweep.md, chart) — beside
# the comparison, not inside it: a result folder holds only its own files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-runs/main}"
.venv/bin/admarket compare --days 30 --seeds 10 --out "$out"
.venv/bin/admarket sweep --one-at-a-time --scenarios b,c --days 30 --seeds 5 \
    --set ledger_read_failure=0 --set ledger_write_failure=0 \
    --grid ledger_read_failure=0,0.01,0.05,0.2 \
    --grid ledger_write_failure=0,0.001,0.01,0.05 \
    --grid ledger_flush_hours=1,24,72 \
    --grid count_discrepancy=0,0.15,0.3 \
    --out "$out-ledger-sweep"
