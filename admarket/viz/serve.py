"""``python -m admarket.viz.serve run APP --host H --port N ...``: ``solara run`` whose
failure to start on a taken port is one line.

``admarket explore`` checks that the port is free (:func:`admarket.cli.explore.check_bind`),
but must let it go for the server to bind it: another program can take it in between.
uvicorn then logs an error and exits 3; this says what happened and what to do (``port N
is in use …; choose another with --port``) and exits 2, as the check before would have.
uvicorn's own line of that failure (``[Errno 98] error while attempting to bind …``) is held
back meanwhile, so the user reads admarket's line alone; it is let through when admarket
has nothing to say in its place.
"""

from __future__ import annotations

import errno
import logging
import sys

from admarket.cli.explore import bind_error, port_taken


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


UVICORN_ERRORS = "uvicorn.error"  # the logger uvicorn reports a failed bind on


class HeldBindError(logging.Filter):
    """Holds back the records uvicorn logs of a socket error (its message the ``OSError``
    itself, as uvicorn logs a bind that fails): admarket words that failure in one line of
    its own, or lets the held records through with :meth:`release`."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, OSError):
            self.held.append(record)
            return False
        return True

    def release(self, logger: logging.Logger) -> None:
        """Stop holding records back and log those held, as they would have been."""
        logger.removeFilter(self)
        for record in self.held:
            logger.handle(record)
        self.held.clear()


def main(argv: list[str] | None = None) -> None:
    """Run ``solara`` with ``argv`` (``run APP ... --host H --port N``, what
    :func:`admarket.cli.explore.solara_argv` gives after the module); a start that fails
    while the port is taken exits 2 with one line naming the port."""
    argv = sys.argv[1:] if argv is None else argv
    host, port = _option(argv, "--host"), int(_option(argv, "--port"))
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *argv]
    # a logger's filters outlive the logging config solara and uvicorn load at start
    logger, held = logging.getLogger(UVICORN_ERRORS), HeldBindError()
    logger.addFilter(held)
    try:
        solara_main()
    except SystemExit as exc:
        if exc.code not in (0, None) and (err := bind_error(host, port)) is not None:
            if err.errno == errno.EADDRINUSE:
                said = f"{port_taken(host, port)} ({err.strerror})"
            else:  # as explore's own check says it
                said = f"cannot serve on {host}:{port}: {err.strerror or err}"
            held.held.clear()  # what it held is what this line says
            print(f"admarket: error: {said}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    finally:
        held.release(logger)  # nothing said in its place: uvicorn's lines, as they were


if __name__ == "__main__":
    main()
