"""The ledger file: JSON Lines of canonical JSON, read back exactly and verified.

Layout: a header line (``format``, ``version``, ``records_per_blob``, ``cost_model``,
``keys`` — each signer's Ed25519 public key, hex — and ``meta``), one line per entry (every
:meth:`~admarket.ledger.entry.LedgerEntry.to_row` field), then a trailer
``{"trailer": {"n_entries": N, "head_hash": H}}``. The header is covered by the chain (entry
0 links to its hash); the trailer must state exactly the chain's count and head.

Reading distinguishes a file that is not a ledger, or cannot be read (``LedgerFormatError``
without an entry: exit code 2 in ``verify-ledger``), from a ledger with a damaged entry line
or a missing trailer, which is tampering at a named position (exit code 1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from admarket.atomic import atomic_file
from admarket.errors import LedgerFormatError
from admarket.ledger.canonical import canonical, decoder
from admarket.ledger.entry import FIELD_TYPES, FORMAT, VERSION, LedgerEntry
from admarket.ledger.verify import VerifyResult, verify_chain

_HEADER_KEYS = {"format", "version", "records_per_blob", "cost_model", "keys", "meta"}


def write_ledger_file(
    path: str | os.PathLike, header: dict, entries: list[LedgerEntry] | tuple
) -> None:
    """Write ``header``, ``entries`` and the trailer to ``path`` atomically (os.replace)."""
    with atomic_file(Path(path), "w", encoding="utf-8") as fh:
        write_ledger(fh, header, entries)


def write_ledger(fh: IO[str], header: dict, entries: list[LedgerEntry] | tuple) -> None:
    """Write ``header``, ``entries`` and the trailer to the open text file ``fh`` (the
    file layout above); flushing and closing it are the caller's."""
    head = entries[-1].hash if entries else None
    fh.write(canonical(header) + "\n")
    for e in entries:
        fh.write(canonical(e.to_row()) + "\n")
    trailer = {"n_entries": len(entries), "head_hash": head}
    fh.write(canonical({"trailer": trailer}) + "\n")


def _lines(path: str | os.PathLike) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise LedgerFormatError(f"no ledger file at {path}") from exc
    except UnicodeDecodeError as exc:
        raise LedgerFormatError(f"{path}: not a text file ({exc.reason})") from exc
    except OSError as exc:
        raise LedgerFormatError(f"{path}: cannot be read ({exc.strerror})") from exc


def _header(path: str | os.PathLike, lines: list[str]) -> dict:
    try:
        header = decoder.decode(lines[0]) if lines else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise LedgerFormatError(f"{path}: not a ledger (first line is not an {FORMAT} header)")
    if header.get("version") != VERSION:
        raise LedgerFormatError(
            f"{path}: ledger format version {header.get('version')!r}; this admarket reads "
            f"version {VERSION}"
        )
    if set(header) != _HEADER_KEYS or not isinstance(header["keys"], dict):
        raise LedgerFormatError(f"{path}: malformed header (fields {sorted(header)})")
    return header


def _entry(row: object) -> LedgerEntry:
    if not isinstance(row, dict) or set(row) != set(FIELD_TYPES):
        raise TypeError("fields differ from a ledger entry's")
    for name, typ in FIELD_TYPES.items():  # exact types: JSON gives no subclasses
        if type(row[name]) is not typ:
            raise TypeError(f"{name}={row[name]!r} is not a {typ.__name__}")
    return LedgerEntry.of(**row)


def _trailer(row: object) -> tuple[int, str] | None:
    if not isinstance(row, dict) or set(row) != {"trailer"}:
        return None
    t = row["trailer"]
    if not isinstance(t, dict) or set(t) != {"n_entries", "head_hash"}:
        raise TypeError(f"malformed trailer {t!r}")
    n, head = t["n_entries"], t["head_hash"]
    if type(n) is not int or not (head is None or isinstance(head, str)):
        raise TypeError(f"malformed trailer {t!r}")
    return n, head or ""


def read_header(path: str | os.PathLike) -> dict:
    """The checked header of a ledger file (LedgerFormatError if it is not a ledger)."""
    lines = _lines(path)
    return _header(path, lines[:1])


def header_and_trailer(path: str | os.PathLike) -> tuple[dict, tuple[int, str] | None]:
    """The checked header of a ledger file and its trailer ``(n_entries, head_hash)``, or
    None for the trailer when the file does not end with one (its writing was cut short),
    reading only its first and last lines (``admarket status`` on a staged copy; nothing
    is verified). LedgerFormatError if it is not a ledger."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline().decode("utf-8")
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 4096))
            last = fh.read().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LedgerFormatError(f"{path}: not a text file ({exc.reason})") from exc
    except OSError as exc:
        raise LedgerFormatError(f"{path}: cannot be read ({exc.strerror})") from exc
    header = _header(path, [first] if first else [])
    try:
        trailer = _trailer(decoder.decode(last))
    except (ValueError, TypeError):
        trailer = None
    return header, trailer


def read_ledger_file(
    path: str | os.PathLike,
) -> tuple[dict, list[LedgerEntry], tuple[int, str]]:
    """The header, entries and trailer ``(n_entries, head_hash)`` of a ledger file.

    Raises LedgerFormatError: without ``entry_index`` when the file is missing, unreadable
    or not a ledger; with it when an entry line (or the trailer, at the position after the
    last entry) is damaged or missing.
    """
    lines = _lines(path)
    header = _header(path, lines)
    entries: list[LedgerEntry] = []
    for n, line in enumerate(lines[1:], start=2):
        i = len(entries)
        try:
            row = decoder.decode(line)
            trailer = _trailer(row)
            if trailer is not None:
                if n != len(lines):
                    raise TypeError("a trailer before the last line")
                return header, entries, trailer
            entries.append(_entry(row))
        except (TypeError, ValueError) as exc:  # includes JSONDecodeError; NaN refused too
            raise LedgerFormatError(f"{path}:{n}: bad entry: {exc}", i) from exc
    raise LedgerFormatError(
        f"{path}: no trailer line after entry {len(entries) - 1}: the file was cut short",
        len(entries),
    )


def verify_file(
    path: str | os.PathLike, anchor: tuple[int | None, str] | None = None
) -> VerifyResult:
    """Read and verify a saved ledger, against its trailer and an optional external
    ``anchor`` ``(n_entries, head_hash)``. A file that is not a ledger or cannot be read
    comes back with ``readable=False``; a damaged line as a fault at its entry."""
    try:
        header, entries, trailer = read_ledger_file(path)
    except LedgerFormatError as exc:
        if exc.entry_index is None:
            return VerifyResult(False, 0, None, str(exc), readable=False)
        return VerifyResult(False, exc.entry_index, exc.entry_index, str(exc))
    return verify_chain(entries, header, trailer=trailer, anchor=anchor)
