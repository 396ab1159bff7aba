"""Checkpoints: a running model saved between days and resumed to the same result.

A checkpoint is one file: a JSON header line (format, version, package version, scenario,
step, config, the config's hash and the SHA-256 of the payload) followed by the pickled
model — its agents, books, memories, ledger, random-generator states and DataCollector — so
that a resumed run continues bit for bit where it stopped. Files are written atomically
(temporary file, then rename), named by scenario, seed, config hash and day, so runs of
different configs never overwrite one another.

Loading checks, *before* unpickling, the header, the checksum (a truncated or edited file),
the package version (a checkpoint resumes only in the admarket that wrote it: the pickled
objects are its classes) and that the header's config matches its hash; after unpickling,
that the model's config is the header's. **A checkpoint is trusted input, like any pickle:
the checksum catches accidents, not an attacker — a crafted file with a correct checksum can
run code when loaded. Resume only checkpoints you wrote yourself.**
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
# 3: the market keeps eligible (campaign, product) pairs, not dense arrays; keyed-draw
# prefixes and the ground truth's key cache were added to pickled objects
# 4: the ground truth's key cache holds what to read (not the split key); the model keeps
# product -> seller and its dispute scan, sellers the deal offers they worked out
# 5: the books keep transaction rows as batches, the exchange's in three columns
# 6: ledger entries keep their payload as its canonical JSON text; settlements are a
# column-wise SettlementLog; events are EventRecords (tuples); claim ids are C ints
VERSION = 6


def config_hash(config: dict) -> str:
    """A short, stable hash of a config (its canonical JSON): 12 hex digits."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save_checkpoint(model: MarketModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically and return the path."""
    path = Path(path)
    if path.exists():  # never overwrite a file that is not an admarket checkpoint
        try:
            read_header(path)
        except CheckpointError as exc:
            if "is not an admarket checkpoint" in str(exc):
                raise CheckpointError(
                    f"{path} exists and is not an admarket checkpoint; admarket will not "
                    "overwrite it (use another --checkpoint-dir)"
                ) from None
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    config = model.config.to_dict()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "package_version": __version__,
        "scenario": model.scenario_id,
        "step": model.steps,
        "day": model.steps // model.config.steps_per_day,
        "config": config,
        "config_hash": config_hash(config),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
    }
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
    if header.get("package_version") != __version__:
        raise CheckpointError(
            f"{p} was written by admarket {header.get('package_version')}; this is admarket "
            f"{__version__}: resume it with that version, or run again"
        )
    config = header.get("config")
    if not isinstance(config, dict) or config_hash(config) != header.get("config_hash"):
        raise CheckpointError(f"{p} is corrupt: its config does not match its config hash")
    if header.get("scenario") not in ("A", "B", "C"):
        raise CheckpointError(f"{p} is corrupt: unknown scenario {header.get('scenario')!r}")
    return header, payload


def load_checkpoint(path: str | Path) -> MarketModel:
    """Load a model saved by :func:`save_checkpoint`, ready to continue stepping.

    Trusted input only (see the module docstring): the payload is a pickle.
    """
    header, payload = read_header(path)
    try:
        model = pickle.loads(payload)
    except Exception as exc:  # e.g. written by an incompatible version of the code
        raise CheckpointError(f"{path} could not be restored: {exc}") from None
    cfg = getattr(model, "config", None)
    if (
        cfg is None
        or not hasattr(cfg, "to_dict")
        or config_hash(cfg.to_dict()) != header["config_hash"]
    ):
        raise CheckpointError(f"{path} is corrupt: the saved model is not the header's config")
    if getattr(model, "scenario_id", None) != header["scenario"]:
        raise CheckpointError(
            f"{path} is corrupt: the saved model is not scenario {header['scenario']}"
        )
    return model


def checkpoint_name(model: MarketModel) -> str:
    """File name of a checkpoint of ``model`` at its current day: scenario, seed, config
    hash and day, e.g. ``scenario-B-seed-42-cfg-1a2b3c4d5e6f-day-005.ckpt``."""
    h = config_hash(model.config.to_dict())
    return (
        f"scenario-{model.scenario_id}-seed-{model.config.seed}-cfg-{h}"
        f"-day-{model.day + 1:03d}.ckpt"
    )
