"""Exceptions that the command line turns into one line on stderr and exit code 2."""

from __future__ import annotations


class VaelabError(Exception):
    """A problem the user can fix (bad input, wrong option, incompatible run).

    The CLI prints ``vaelab: error: <message>`` on one line and exits with code 2; the
    library raises it so that callers can catch it.
    """


class InputError(VaelabError, ValueError):
    """Untrusted input (a data file, a run folder, a model file) was rejected."""
