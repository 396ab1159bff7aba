#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite on both cores. Browser tests need Debian's
# chromium (/usr/bin/chromium); without it they are skipped unless ADMARKET_REQUIRE_BROWSER=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SOLARA_TELEMETRY_MIXPANEL_ENABLE=false MPLBACKEND=Agg
exec .venv/bin/python -m pytest -n 2 "$@"
