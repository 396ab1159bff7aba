"""``python -m admarket.viz.serve run APP --host H --port N ...``: ``solara run`` whose
failure to start on a taken port is one line.

``admarket explore`` checks that the port is free (:func:`admarket.cli.explore.check_bind`),
but must let it go for the server to bind it: another program can take it in between.
uvicorn then logs an error and exits 3; this says what happened and what to do (``port N
is in use …; choose another with --port``) and exits 2, as the check before would have.
"""

from __future__ import annotations

import errno
import sys

from admarket.cli.explore import bind_error, port_taken


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def main(argv: list[str] | None = None) -> None:
    """Run ``solara`` with ``argv`` (``run APP ... --host H --port N``, what
    :func:`admarket.cli.explore.solara_argv` gives after the module); a start that fails
    while the port is taken exits 2 with one line naming the port."""
    argv = sys.argv[1:] if argv is None else argv
    host, port = _option(argv, "--host"), int(_option(argv, "--port"))
    from solara.__main__ import main as solara_main

    sys.argv = ["solara", *argv]
    try:
        solara_main()
    except SystemExit as exc:
        if exc.code not in (0, None) and (err := bind_error(host, port)) is not None:
            if err.errno == errno.EADDRINUSE:
                said = f"{port_taken(host, port)} ({err.strerror})"
            else:  # as explore's own check says it
                said = f"cannot serve on {host}:{port}: {err.strerror or err}"
            print(f"admarket: error: {said}", file=sys.stderr)
            raise SystemExit(2) from None
        raise


if __name__ == "__main__":
    main()
