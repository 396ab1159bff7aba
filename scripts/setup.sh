#!/usr/bin/env bash
# Create .venv (Python 3.12+) and install admarket with its test and explorer extras.
# Idempotent: a second run only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
    # pyenv honours .python-version (3.12); otherwise look for a 3.12+ interpreter on PATH.
    if command -v pyenv >/dev/null 2>&1 && pyenv which python >/dev/null 2>&1; then
        pyenv which python
        return
    fi
    for c in python3.13 python3.12; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return
        fi
    done
    # pyenv installed but not initialised in this shell: take .python-version's directly
    local found
    local want
    want=$(cat .python-version 2>/dev/null || echo 3.12)
    found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want"*/bin/python 2>/dev/null \
        | sort -V | tail -1 || true)
    if [ -n "$found" ]; then
        echo "$found"
        return
    fi
    for c in python3 python; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return
        fi
    done
    echo "admarket setup: no Python interpreter found (need 3.12+)" >&2
    exit 2
}

if [ ! -x .venv/bin/python ]; then
    PY=$(pick_python)
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
        echo "admarket setup: $PY is $("$PY" -V 2>&1); Mesa 3.5 needs Python 3.12+" >&2
        exit 2
    fi
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,viz]"
