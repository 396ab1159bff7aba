"""Every error admarket raises on bad input, in one place below every other module.

Each is a one-line message meant for a user: what was wrong, which field or file, and what
is allowed. The CLI turns any of them into that line and exit code 2.
"""

from __future__ import annotations

from typing import Any


class UsageError(Exception):
    """Bad command-line input that argparse itself cannot see (exit code 2)."""


class ConfigError(ValueError):
    """A configuration value is invalid: names the field, the value and what is allowed."""

    def __init__(self, field_name: str, value: Any, allowed: str, reason: str = ""):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        self.reason = reason  # what is wrong with the value when "allowed" alone is unclear
        said = f"{reason}; give {allowed}" if reason else allowed
        super().__init__(f"invalid {field_name} = {value!r}: {said}")

    def __reduce__(self):  # pickled from a worker process: rebuild from its parts
        return (type(self), (self.field, self.value, self.allowed, self.reason))


class IncompleteRunError(UsageError):
    """An output directory without a COMPLETE marker (failed, interrupted or not a store)."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed (corrupt, foreign or from another version)."""


class LedgerFormatError(ValueError):
    """A ledger file is missing or malformed; ``entry_index`` names the entry line, if any."""

    def __init__(self, message: str, entry_index: int | None = None) -> None:
        super().__init__(message)
        self.entry_index = entry_index


class OutputBusyError(UsageError):
    """Another admarket process is writing the same output folder (exit code 2)."""


class StoreError(UsageError):
    """A result's store cannot be read: corrupt, truncated or not a DuckDB file (exit code 2)."""


class WorkerLostError(RuntimeError):
    """A worker process died before its run finished (killed, out of memory); exit code 1."""


class ChartError(RuntimeError):
    """A report chart could not be drawn (here or in a worker process); nothing is published
    (exit code 1). The drawing's own exception, with its traceback, is the ``__cause__``."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop, clean up, publish nothing (exit code 143)."""


class LLMError(UsageError):
    """A language-model endpoint failed, or answered unusably, after its retries (exit 2):
    names the endpoint or agent, what went wrong and what to try."""
