"""Checkpoints: a running model saved between days and resumed to the same result.

A checkpoint is one file: a JSON header line (format, version, package version, scenario,
step, config, and the SHA-256 of the payload) followed by the pickled model — its agents,
books, memories, ledger, random-generator states and DataCollector — so that a resumed run
continues bit for bit where it stopped. Files are written atomically (temporary file, then
rename). Loading checks the header and the checksum *before* unpickling, so a truncated,
edited or foreign file gives a clear error. As with any pickle, load only checkpoints you
wrote yourself.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from admarket.atomic import atomic_file
from admarket.errors import CheckpointError
from admarket.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from admarket.model import MarketModel

FORMAT = "admarket-checkpoint"
VERSION = 1


def save_checkpoint(model: MarketModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically and return the path."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "package_version": __version__,
        "scenario": model.scenario_id,
        "step": model.steps,
        "day": model.steps // model.config.steps_per_day,
        "config": model.config.to_dict(),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
    }
    path = Path(path)
    with atomic_file(path, "wb") as f:
        f.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        f.write(payload)
    return path


def read_header(path: str | Path) -> tuple[dict, bytes]:
    """The checked header and payload of a checkpoint file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {p} does not exist") from None
    except OSError as exc:
        raise CheckpointError(f"checkpoint {p} cannot be read: {exc.strerror}") from None
    line, _, payload = data.partition(b"\n")
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{p} is not an admarket checkpoint")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{p} is checkpoint format version {header.get('version')!r}; "
            f"this admarket reads version {VERSION}"
        )
    if len(payload) != header.get("bytes") or hashlib.sha256(payload).hexdigest() != header.get(
        "sha256"
    ):
        raise CheckpointError(f"{p} is corrupt: its contents do not match its checksum")
    return header, payload


def load_checkpoint(path: str | Path) -> MarketModel:
    """Load a model saved by :func:`save_checkpoint`, ready to continue stepping."""
    _, payload = read_header(path)
    try:
        return pickle.loads(payload)
    except Exception as exc:  # e.g. written by an incompatible version of the code
        raise CheckpointError(f"{path} could not be restored: {exc}") from None


def checkpoint_name(model: MarketModel) -> str:
    """File name of a checkpoint of ``model`` at its current day."""
    return f"scenario-{model.scenario_id}-seed-{model.config.seed}-day-{model.day + 1:03d}.ckpt"
