"""``admarket verify-ledger``: check a saved ledger, alone or against its published anchor.

The file alone proves that every entry is as its signers signed it, in order, with every
blob's seal matching its entries and the cost model. That the file is the *whole* ledger,
and *the* ledger rather than a consistent rewrite, needs the anchor kept outside it: the
entry count and head hash ``admarket run`` prints and stores in the run store's ``runs``
table. Exit codes: 0 intact, 1 tampered (naming the first bad entry and why), 2 not a
ledger, unreadable, or no anchor to be had.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from admarket.errors import LedgerFormatError, UsageError
from admarket.ledger.file import read_header, verify_file
from admarket.ledger.keys import STORAGE_SIGNER, agent_signers
from admarket.money import plural
from admarket.outputs.store import query, require_complete

if TYPE_CHECKING:
    import pandas as pd

_ANCHOR = re.compile(r"^(?:(\d+):)?([0-9a-f]{64})$")


def parse_anchor(text: str) -> tuple[int | None, str]:
    """``N:HASH`` (entry count and head hash, as ``run`` prints it) or ``HASH`` alone."""
    match = _ANCHOR.match(text.strip().lower())
    if match is None:
        raise UsageError(
            f"--anchor {text!r}: expected N:HASH (entry count and 64-hex-digit head hash, "
            "as `admarket run` prints it) or HASH"
        )
    n, head = match.groups()
    return (None if n is None else int(n)), head


def store_anchor(run_dir: str, path: str) -> tuple[int, str] | None:
    """The anchor a run store keeps for the ledger at ``path`` (C, same seed); UsageError
    if the file is an intact ledger of another run (its header is not that run's). None
    where the store holds several such runs and the file alone is not intact: no run can
    be told as its own, and the file's own checks report the tampering (exit 1), as they
    would against a store of one run.

    Where the store holds several scenario-C runs of that seed (a sweep or a study over
    parameters the ledger's header does not record), the file's run is the one whose
    recorded anchor is the file's own verified head — a hash over the whole chain, header
    included, so it tells apart what the header cannot (:func:`_runs_of`)."""
    require_complete(run_dir)
    try:
        header = read_header(path)
    except LedgerFormatError:
        header = {}  # not a ledger: verify_file says so
    seed = header.get("meta", {}).get("seed")
    sql = (
        "SELECT ledger_entries, ledger_head_hash, config FROM runs WHERE scenario = 'C' "
        "AND ledger_head_hash IS NOT NULL"
    )
    if isinstance(seed, int):
        sql += f" AND seed = {seed}"
    try:
        rows = query(run_dir, sql)
    except UsageError as exc:
        raise UsageError(f"{run_dir}: its runs table keeps no ledger anchors ({exc})") from None
    which = f" with seed {seed}" if isinstance(seed, int) else ""
    if len(rows) > 1:
        if not verify_file(path, None).ok:
            return None
        rows = _runs_of(path, run_dir, rows, which)
    if len(rows) != 1:
        raise UsageError(
            f"{run_dir}: {len(rows)} scenario-C runs{which} with a ledger anchor; "
            "need exactly one (give --anchor N:HASH instead)"
        )
    differs = _header_differs(header, json.loads(str(rows.iloc[0, 2]))) if header else ""
    if differs and verify_file(path, None).ok:
        # an intact ledger of another run would read as tampered (truncated, another head):
        # say so; an edited header breaks the chain and is reported as tampering below
        raise UsageError(
            f"{path} was not written by the scenario-C run of seed {seed} in {run_dir}: "
            f"{differs}; check it against its own run's store, or give --anchor N:HASH"
        )
    return int(rows.iloc[0, 0]), str(rows.iloc[0, 1])


def _runs_of(path: str, run_dir: str, rows: pd.DataFrame, which: str) -> pd.DataFrame:
    """Of several scenario-C runs (``rows``: anchor and config) the one whose ledger
    the file at ``path`` is: the run whose anchor is the file's verified head (runs with
    the same anchor wrote the same ledger: either one will do); the file alone is intact
    (:func:`store_anchor` checks it first). A UsageError when no run's anchor is its head —
    another run's ledger, or one of theirs cut short or rewritten: which one, only an
    anchor can tell (a sweep's store, where runs of one seed meet, keeps their anchors but
    not their ledgers)."""
    res = verify_file(path, None)
    same = rows[(rows.iloc[:, 0] == res.n_entries) & (rows.iloc[:, 1] == res.head_hash)]
    if len(same):
        return same.iloc[:1]
    raise UsageError(
        f"{path} is not the ledger of any of the {len(rows)} scenario-C runs{which} in "
        f"{run_dir}: none has its head {res.n_entries}:{res.head_hash} as its anchor (it is "
        "another run's ledger, or one of theirs cut short or rewritten); check it against "
        "its own run's store, or give --anchor N:HASH"
    )


def _header_differs(header: dict, cfg: dict) -> str:
    """How a ledger's header differs from what the run with config ``cfg`` writes (its
    signers, batching and token prices), or "" — a run that differs only in behaviour
    parameters writes the same header, so its ledger is told apart by the anchor alone."""
    signers = set(agent_signers(int(cfg.get("n_buyers", 0)), int(cfg.get("n_sellers", 0))))
    keys = set(header.get("keys", {})) - {STORAGE_SIGNER}
    if keys != signers:
        return (
            f"its {plural(len(keys), 'signer')} are not that run's {cfg.get('n_buyers')} "
            f"buyers and {cfg.get('n_sellers')} sellers"
        )
    if header.get("records_per_blob") != cfg.get("records_per_blob"):
        return (
            f"its records_per_blob is {header.get('records_per_blob')}, that run's "
            f"{cfg.get('records_per_blob')}"
        )
    costs = header.get("cost_model", {})
    for k in ("sui_price_usd", "wal_price_usd"):
        if k in cfg and costs.get(k) != cfg[k]:
            return f"its {k} is {costs.get(k)}, that run's {cfg[k]}"
    return ""


def cmd_verify_ledger(args: argparse.Namespace) -> int:
    """``admarket verify-ledger FILE [--anchor N:HASH | --store DIR]``: exit 0 intact,
    1 tampered, 2 not a ledger or unreadable."""
    if not Path(args.path).is_file():
        raise UsageError(f"no ledger file at {args.path}")
    anchor = None
    if args.anchor is not None:
        anchor = parse_anchor(args.anchor)
    elif args.store is not None:
        anchor = store_anchor(args.store, args.path)
    res = verify_file(args.path, anchor)
    if not res.readable:
        print(f"admarket: error: not a ledger or unreadable: {res.reason}", file=sys.stderr)
        return 2
    if not res.ok:
        where = f" at entry {res.first_bad}" if res.first_bad is not None else ""
        print(f"TAMPERED{where}: {res.reason}", file=sys.stderr)
        return 1
    print(
        f"ok: {plural(res.n_entries, 'entry', 'entries')}; signatures, hash chain and blob "
        f"seals intact; head {res.n_entries}:{res.head_hash}"
    )
    if anchor is None:
        print(
            "note: without an anchor the file alone cannot show it is whole and the original "
            "(a cut at a seal or a consistent rewrite passes): give --anchor N:HASH or --store DIR"
        )
    else:
        print("matches the published anchor")
    return 0
