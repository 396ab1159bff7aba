"""The ``admarket`` command line: :func:`main` builds the parser (:mod:`.main`, from the
light :mod:`.options`) and hands each command to its handler module (:mod:`.run`,
:mod:`.study`, :mod:`.explore`, :mod:`.params`)."""

from admarket.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
