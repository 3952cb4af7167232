"""The ``vaelab`` command line: a thin dispatcher over one module per command.

Each command module (``cli/<command>.py``) has ``add_parser(subparsers)`` and ``run(args)``:
it parses, calls the library, prints. Building the parser imports no library code (no torch),
so ``vaelab --help`` and ``vaelab COMMAND --help`` are quick.

Errors the user can fix print one line (``vaelab: error: ...``) on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Sequence

from vaelab import __version__
from vaelab.core.errors import VaelabError

#: the commands, in the order ``vaelab --help`` lists them; each is the module ``vaelab.cli.<name>``
COMMANDS = ("train", "generate", "evaluate", "ablate", "augment", "inpaint", "restore", "latent", "compress",
            "reconstruct", "demo", "report")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vaelab", description="Conditional VAEs and honest evaluation of synthetic data.")
    p.add_argument("--version", action="version", version=f"vaelab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"vaelab.cli.{name}").add_parser(sub)
    return p


def command_line(argv: Sequence[str] | None) -> str:
    """The command as typed (``vaelab`` and its arguments, shell-quoted); result files record it."""
    return shlex.join(["vaelab", *(sys.argv[1:] if argv is None else argv)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = command_line(argv)
    try:
        return int(args.func(args) or 0)
    except VaelabError as e:
        msg = " ".join(str(e).split())
        print(f"vaelab: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaelab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
