#!/usr/bin/env bash
# Set up (if needed), then the project's gates: lint, format, types, and the whole test suite
# on both cores. Browser tests need Debian's chromium (/usr/bin/chromium); without it they are
# skipped unless ADMARKET_REQUIRE_BROWSER=1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check admarket tests benchmarks
.venv/bin/ruff format --check admarket tests benchmarks
.venv/bin/mypy
export SOLARA_TELEMETRY_MIXPANEL_ENABLE=false MPLBACKEND=Agg
exec .venv/bin/python -m pytest -n 2 "$@"
