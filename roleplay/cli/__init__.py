"""Command line: ``roleplay serve | personas validate | eval grading|robustness|signals | simulate |
bench | users | export | model | fit | coaching | db``.

The commands in ``docs/spec/cli.md`` and their JSON outputs are a contract with outside
scripts: add options freely, never break these.
"""

from __future__ import annotations

import logging
import sys

from roleplay.cli.parser import build_parser
from roleplay.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    if args.command is None:
        args = build_parser().parse_args(["serve", *(argv or [])])
    try:
        return args.func(args)
    except ConfigError as exc:  # the settings or the installation (the database's schema, say); it says the fix
        print(f"error: {exc}", file=sys.stderr)
        return 1


__all__ = ["build_parser", "main"]
