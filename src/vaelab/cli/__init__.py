"""The command line: ``vaelab COMMAND ...``."""

from vaelab.cli.main import main

__all__ = ["main"]
