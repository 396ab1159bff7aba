"""A compact, diffable fingerprint of a finished result folder: the golden-results check.

Each store table becomes (row count, columns, SHA-256 of its rows in a canonical form) and
``report.json`` becomes the SHA-256 of its canonical JSON, with creation timestamps and
version strings removed. Floats are written with 12 significant digits, so the check is
exact for a deterministic model yet stable against the last-bit noise of a different libm.
Regenerate the golden file (``python -m tests.golden.fingerprint --write``) in the same
commit as a deliberate change of the mechanics, and say which mechanism moved the numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

HERE = Path(__file__).parent
GOLDEN = HERE / "golden.json"
# What the golden run is: `admarket compare` over 30 days on 3 seeds, every other
# parameter at its default.
COMMAND = ["compare", "--days", "30", "--seeds", "3", "--processes", "1", "--no-progress"]
VOLATILE = {"created_at", "package_version", "mesa_version", "generated", "generated_at"}


def _canon(value: Any) -> Any:
    if isinstance(value, float):
        return format(value, ".12g")
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def _digest(obj: Any) -> str:
    text = json.dumps(_canon(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def table_fingerprints(db: Path) -> dict[str, dict[str, Any]]:
    """Row count, columns and row digest of every table of the store at ``db``."""
    out: dict[str, dict[str, Any]] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        for name in sorted(names):
            df = con.execute(f'SELECT * FROM "{name}"').df()
            cols = [c for c in df.columns if c not in VOLATILE]
            rows = df[cols].astype(object).where(df[cols].notna(), None).values.tolist()
            rows = sorted(json.dumps(_canon(r), default=str) for r in rows)
            out[name] = {"rows": len(rows), "columns": cols, "sha256": _digest(rows)}
    finally:
        con.close()
    return out


def report_fingerprint(path: Path) -> str:
    """Digest of ``report.json`` without timestamps and version strings."""
    return _digest(json.loads(path.read_text(encoding="utf-8")))


def fingerprint(run_dir: Path) -> dict[str, Any]:
    """The fingerprint of a result folder written by ``admarket compare``."""
    return {
        "command": COMMAND,
        "tables": table_fingerprints(run_dir / "admarket.duckdb"),
        "report_json": report_fingerprint(run_dir / "report.json"),
    }


def run_golden(out: Path) -> dict[str, Any]:
    """Run the golden command into ``out`` and fingerprint the result."""
    cmd = [sys.executable, "-m", "admarket", *COMMAND, "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return fingerprint(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the golden file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fp = run_golden(Path(tmp) / "golden")
    text = json.dumps(fp, indent=1, sort_keys=True) + "\n"
    if args.write:
        GOLDEN.write_text(text, encoding="utf-8")
        print(f"wrote {GOLDEN}")
    else:
        print(text)


if __name__ == "__main__":
    main()
