"""Command line: ``admarket run | compare | sweep | report | query | params | ...``.

Every command validates its whole configuration before anything runs; a bad value is one
line naming the field, the value and what is allowed, with exit code 2 and nothing written.
The parser is built from light modules only; each command's handler is named as
``"module:function"`` and imported when that command runs, so ``admarket --help`` and
argument errors answer without loading the model, pandas or DuckDB.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import select
import signal
import sys
from collections.abc import Iterator, Sequence

from admarket.cli.options import (
    Parser,
    add_batch_options,
    add_choice_option,
    add_config_options,
    add_llm_options,
    add_output_options,
    check_config,
)
from admarket.cli.output_checks import check_outputs
from admarket.errors import ChartError, ConfigError, Terminated, UsageError, WorkerLostError
from admarket.outputs import QUERY_NAMES, VERBOSITY


def _command(sub: argparse._SubParsersAction, name: str, handler: str, help: str):
    p = sub.add_parser(name, help=help)
    p.set_defaults(handler=handler)
    return p


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    run = _command(sub, "run", "admarket.cli.run:cmd_run", "run scenarios on one seed; a table")
    add_config_options(run)
    add_output_options(run)
    add_llm_options(run)
    res = _command(
        sub, "resume", "admarket.cli.run:cmd_resume", "continue a checkpointed run to its end"
    )
    res.add_argument("checkpoint", help="file written by `run --checkpoint-every`")
    add_output_options(res)
    ver = _command(
        sub,
        "verify-ledger",
        "admarket.cli.verify:cmd_verify_ledger",
        "verify a saved ledger (exit 0 intact, 1 tampered, 2 not a ledger)",
    )
    ver.add_argument("path", help="ledger file written by `run --ledger-out`")
    pin = ver.add_mutually_exclusive_group()
    pin.add_argument(
        "--anchor",
        metavar="N:HASH",
        help="the anchor published outside the file: entry count and head hash, as `run` "
        "prints it (HASH alone also works); catches truncation and a consistent rewrite",
    )
    pin.add_argument(
        "--store",
        metavar="DIR",
        help="take the anchor from the run store of `run --out DIR` (its runs table)",
    )
    par = _command(
        sub,
        "params",
        "admarket.cli.params:cmd_params",
        "list every parameter: default, range, unit, meaning",
    )
    par.add_argument("--group", help="only the parameters of this group")
    par.add_argument("--markdown", action="store_true", help="print a markdown table")


def _add_study_commands(sub: argparse._SubParsersAction) -> None:
    cmp = _command(
        sub,
        "compare",
        "admarket.cli.study:cmd_compare",
        "run scenarios on many seeds in parallel; write store, logs, report",
    )
    add_config_options(cmp)
    add_batch_options(cmp, seeds=10)
    cmp.add_argument("--out", required=True, metavar="DIR", help="output directory")
    add_choice_option(
        cmp,
        "--verbosity",
        VERBOSITY,
        None,
        "narrative log detail (default key: a few stories of each kind)",
    )
    add_choice_option(
        cmp,
        "--logs",
        ("first", "all", "none"),
        "first",
        "which seeds get event and narrative logs (default: the first seed)",
    )
    cmp.add_argument(
        "--resume",
        action="store_true",
        help="continue a compare into --out DIR that stopped (Ctrl-C, a lost worker, a "
        "crash), or extend the compare published there with more seeds: the runs it "
        "finished are kept and not run again; the result is the same",
    )
    cmp.add_argument(
        "--no-journal",
        action="store_true",
        help="keep no finished runs, beside DIR or in it (a stopped compare starts again, a "
        "published one cannot be extended): saves the disk they take",
    )
    sw = _command(
        sub,
        "sweep",
        "admarket.cli.study:cmd_sweep",
        "sweep a parameter grid; tidy table and break-even chart",
    )
    add_config_options(sw)
    add_batch_options(sw, seeds=3)
    sw.add_argument(
        "--grid",
        action="append",
        default=[],
        required=True,
        metavar="NAME=V1,V2,...",
        help="a parameter and its values, e.g. exchange_fee=0.1,0.15,0.2 (repeatable); a "
        "list parameter's value of several numbers in brackets, quoted for the shell: "
        "'campaign_budgets=[10000,25000],[5000]'",
    )
    sw.add_argument(
        "--one-at-a-time",
        action="store_true",
        help="vary each --grid parameter alone, the others at their base values, instead of "
        "the cartesian product (what drives C: one chart row per parameter)",
    )
    sw.add_argument("--out", metavar="DIR", help="write sweep.csv, sweep.md, chart and store")
    sw.add_argument(
        "--resume",
        action="store_true",
        help="continue a sweep into --out DIR that stopped (Ctrl-C, a lost worker, a crash): "
        "the runs it finished are kept beside DIR and not run again; the result is the same",
    )
    rep = _command(
        sub,
        "report",
        "admarket.cli.results:cmd_report",
        "regenerate the report of a run/compare directory",
    )
    rep.add_argument("run_dir", metavar="RUN_DIR")
    rep.add_argument(
        "--format",
        default="md,html,json",
        metavar="md,html,json",
        help="comma-separated report formats to write (default: all three)",
    )
    rep.add_argument(
        "--content",
        action="store_true",
        help="also write content/: one article draft per finding (numbers from the store)",
    )
    q = _command(
        sub,
        "query",
        "admarket.cli.query:cmd_query",
        "run one of the plan's queries (or any SQL) on a store",
    )
    q.add_argument("run_dir", metavar="RUN_DIR")
    q.add_argument("--name", choices=QUERY_NAMES, help="one of the plan's four queries")
    q.add_argument("--sql", help="any SQL (DuckDB dialect) against the store's tables")
    q.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    q.add_argument(
        "--max-rows", type=int, help="rows to print (default: 200 in a table, all as CSV)"
    )
    st = _command(
        sub,
        "status",
        "admarket.cli.status:cmd_status",
        "list the runs, checkpoints and studies in a folder: complete or not, config, seeds",
    )
    st.add_argument("folder", metavar="DIR", nargs="?", default=".", help="folder (default .)")
    st.add_argument("--json", action="store_true", help="print JSON instead of text")
    st.add_argument(
        "--verify",
        action="store_true",
        help="also check each result's files against the SHA-256 checksums written when it "
        "was published (reads every file; finds an edit that kept a file's size); exit 1 "
        "if a result is damaged",
    )
    st.add_argument(
        "--depth",
        type=int,
        metavar="N",
        help="look only N folder levels below DIR (0: DIR alone; default: every level), "
        "as the explorer's Saved results page does",
    )
    exp = _command(
        sub,
        "explore",
        "admarket.cli.explore:cmd_explore",
        "open the browser explorer (Solara, offline) on localhost",
    )
    exp.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    exp.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    exp.add_argument(
        "--results",
        metavar="DIR",
        default=None,
        help="folder the Saved results page lists (default: the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to document the CLI)."""
    parser = Parser(
        prog="admarket",
        description="Agent-based model of the programmatic ad market: exchange (A) vs "
        "agent-to-agent (B) vs ledger-backed agent-to-agent (C).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_commands(sub)
    _add_study_commands(sub)
    return parser


def _handler(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _terminate(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM raises like Ctrl-C, so the same clean-up runs (a
    half-built result removed, worker processes stopped) before the process exits."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. called from a worker thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _output_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll reports an error
    on the write end of such a pipe)."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``admarket`` command; returns the exit code.

    Exit codes: 0 done; 1 the run failed (a worker process died, a report chart could not be
    drawn; ``verify-ledger``: tampered);
    2 refused or failed to write (bad input, an output folder admarket may not touch, a
    full disk), always one line; 130 interrupted (Ctrl-C); 141 the reader of its output
    went away (a closed pipe); 143 terminated (SIGTERM).
    """
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            check_outputs(args)
            check_config(args)  # a bad value is refused before the handler's imports
            return int(_handler(args.handler)(args) or 0)
    except (ConfigError, UsageError) as exc:
        print(f"admarket: error: {exc}", file=sys.stderr)
        return 2
    except (WorkerLostError, ChartError) as exc:
        print(f"admarket: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError as exc:
        if not _output_gone():  # another pipe broke (a connection): an error like any other
            print(f"admarket: error: {exc.strerror or exc}", file=sys.stderr)
            return 2
        # whoever read the output went away (`admarket params | head -1`): stop quietly with
        # SIGPIPE's exit status, as Unix tools do; stdout goes to /dev/null so that the
        # interpreter's last flush does not fail again
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # a filesystem failure mid-run: outputs are atomic, say what failed
        where = f": {exc.filename}" if exc.filename else ""
        print(f"admarket: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Terminated:
        print(
            "admarket: terminated (SIGTERM); an unfinished result is never published",
            file=sys.stderr,
        )
        return 143
    except KeyboardInterrupt:
        print("admarket: interrupted; an unfinished result is never published", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
