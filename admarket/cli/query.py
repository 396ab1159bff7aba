"""``admarket query``: one of the plan's SQL queries, or any SQL, on a published result.

The store is opened read-only and sandboxed (``outputs.store.READ_CONFIG``): SQL reads the
store's tables and nothing else — no files, no network, no extensions, no settings. Only
the store module is loaded, so a query answers without loading the model or the report.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from admarket.errors import UsageError
from admarket.money import plain
from admarket.outputs.store import query, query_sql

TABLE_ROWS = 200  # rows printed as a table unless --max-rows says otherwise


def cmd_query(args: argparse.Namespace) -> int:
    """``admarket query``: SQL on a result's store, read-only and sandboxed (no files, no
    network, no extensions)."""
    if (args.name is None) == (args.sql is None):
        raise UsageError("give exactly one of --name or --sql")
    if args.max_rows is not None and args.max_rows < 1:
        raise UsageError(f"--max-rows {args.max_rows}: must be at least 1")
    sql = query_sql(args.name) if args.name else args.sql
    try:
        df = query(args.run_dir, sql)
    except UsageError:
        if args.name is None:
            raise
        tables = query(args.run_dir, "SELECT table_name FROM information_schema.tables")
        if "summaries" in set(tables["table_name"]):
            raise
        raise UsageError(  # e.g. a sweep's store: the plan's queries read a run's tables
            f"--name {args.name} reads a run or compare store's tables; {args.run_dir} is not "
            "one (a sweep? see its sweep.md); --sql reads any of its tables"
        ) from None
    if args.csv:
        (df if args.max_rows is None else df.head(args.max_rows)).to_csv(sys.stdout, index=False)
    else:
        rows = TABLE_ROWS if args.max_rows is None else args.max_rows
        with pd.option_context("display.max_rows", rows, "display.width", 200):
            print(df.to_string(index=False, max_rows=rows, float_format=plain))
    return 0
